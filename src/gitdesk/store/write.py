"""Read a desk at a revision; write one action as one commit.

The write path: lock, read the branch tip, apply the action, verify, build
blobs and trees in memory, commit, move the branch by compare-and-swap, then
update the touched files in the working tree and index. A lost race is
retried from the top.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from gitdesk import gitio
from gitdesk.domain import ids
from gitdesk.domain.clock import Identity, ident_time
from gitdesk.domain.config import (
    CONFIG_PATH,
    POLICY_PATH,
    DeskConfig,
    Policy,
    build_config,
    build_policy,
    config_raw,
    policy_raw,
)
from gitdesk.domain.model import Ticket, ticket_path
from gitdesk.errors import Conflict, GitdeskError, InvalidFile, NotFound, RuleViolation
from gitdesk.yaml import roundtrip as yamlio

MAX_ATTEMPTS = 8
STALE_INDEX_LOCK = 10.0  # seconds; see Desk._finish_pending
PENDING = "worktree-pending.json"  # under .git/gitdesk/: files the branch moved ahead of


def printable(text: str) -> str:
    """Text safe for a commit message or reflog line: control characters become spaces."""
    return "".join(ch if ch.isprintable() or ch == " " else " " for ch in text)




class Snapshot:
    """The desk as it is in one commit (or empty, before the first one)."""

    def __init__(self, repo: gitio.Repo, commit: gitio.Commit | None) -> None:
        self.repo = repo
        self.commit = commit
        self.tree: gitio.Tree | None = commit.tree if commit is not None else None

    @property
    def oid(self) -> str | None:
        return str(self.commit.id) if self.commit is not None else None

    def read(self, path: str) -> bytes | None:
        return gitio.read_blob(self.repo, self.tree, path)

    def blob_oid(self, path: str) -> str | None:
        obj = gitio.entry(self.repo, self.tree, path)
        return str(obj.id) if obj is not None else None

    @cached_property
    def config(self) -> DeskConfig:
        data = self.read(CONFIG_PATH)
        if data is None:
            raise NotFound(f"no {CONFIG_PATH} here: this is not a gitdesk desk",
                           hint="run `gitdesk init` first, or pass --repo/--branch")
        config: DeskConfig = build_config(
            _cached(self.repo, "config", self.blob_oid(CONFIG_PATH), data, config_raw))
        return config

    @cached_property
    def policy(self) -> Policy:
        data = self.read(POLICY_PATH)
        if data is None:
            raise NotFound(f"no {POLICY_PATH} in this desk")
        policy: Policy = build_policy(
            _cached(self.repo, "policy", self.blob_oid(POLICY_PATH), data, policy_raw))
        return policy

    def resolve(self, query: str) -> str:
        """A full ticket ID from an ID or unique prefix."""
        try:
            prefix, rest = ids.parse_query(query)
        except ValueError as exc:
            raise NotFound(str(exc)) from exc
        if prefix is not None and self.config.type_for_prefix(prefix) is None:
            known = ", ".join(f"{t.prefix} ({t.name})" for t in self.config.types.values())
            raise NotFound(f"no ticket type has the prefix {prefix}-", hint=f"prefixes: {known}")
        types = [t for t in self.config.types.values() if prefix in (None, t.prefix)]
        found = []
        for ticket_type in types:
            directory = f"tickets/{ticket_type.name}/{rest[:2]}"
            for name, _oid, is_tree in gitio.list_dir(self.repo, self.tree, directory):
                stem = name.removesuffix(".yaml")
                if not is_tree and name.endswith(".yaml") and \
                        stem.partition("-")[2].startswith(rest):
                    found.append(stem)
        if not found:
            raise NotFound(f"no ticket {query}")
        if len(found) > 1:
            raise NotFound(f"{query} is ambiguous; it matches: {', '.join(sorted(found))}",
                           hint="give more characters of the ID")
        return found[0]

    def path_of(self, ticket_id: str) -> str:
        prefix = ticket_id.partition("-")[0]
        ticket_type = self.config.type_for_prefix(prefix)
        if ticket_type is None:
            raise NotFound(f"no ticket type has the prefix {prefix}-")
        return ticket_path(ticket_type.name, ticket_id)

    def ticket(self, query: str) -> Ticket:
        path = self.path_of(self.resolve(query))
        return self.load(path)

    def load(self, path: str) -> Ticket:
        data = self.read(path)
        if data is None:
            raise NotFound(f"no file {path}")
        root = yamlio.load(data, path)
        if not isinstance(root, CommentedMap):
            raise InvalidFile(path, ["a ticket file must be a YAML mapping"])
        problems = _file_problems(self.config, path, root)
        if problems:
            raise InvalidFile(path, problems,
                              hint="fix the file by hand (see `gitdesk doctor`); "
                                   "nothing was changed")
        return Ticket(root, path)

    def ticket_paths(self) -> Iterator[tuple[str, str]]:
        """(path, blob oid) of every ticket file, in path order."""
        for type_name, _o, is_tree in gitio.list_dir(self.repo, self.tree, "tickets"):
            if not is_tree:
                continue
            for shard, _o2, is_shard in gitio.list_dir(self.repo, self.tree,
                                                       f"tickets/{type_name}"):
                if not is_shard:
                    continue
                directory = f"tickets/{type_name}/{shard}"
                for name, oid, is_dir in gitio.list_dir(self.repo, self.tree, directory):
                    if not is_dir and name.endswith(".yaml"):
                        yield f"{directory}/{name}", oid


def _refuse_held_index(index_lock: Path) -> None:
    if index_lock.exists():
        raise Conflict(f"{index_lock} exists: another git command is using the index",
                       hint="wait for it to finish; remove the file only if no git "
                            "process is running")


def _file_problems(config: DeskConfig, path: str, root: Any) -> list[str]:
    from gitdesk.verify.files import check_file

    return [f"line {v.line}: {v.message}" if v.line else v.message
            for v in check_file(config, path, root)]


def _cached(repo: gitio.Repo, kind: str, oid: str | None, data: bytes,
            parse: Callable[[bytes], dict[str, Any]]) -> dict[str, Any]:
    """Validated config or policy as plain data, cached by blob id (in memory and in
    .git/gitdesk/cache/): content that was valid once stays valid, and parsing the
    YAML in round-trip mode costs more than a whole command should."""
    if oid is None:
        return parse(data)
    if oid in _parse_memo:
        return _parse_memo[oid]
    path = repo.state_dir / "cache" / f"{kind}-{oid}.json"
    try:
        raw: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        raw = parse(data)
        with contextlib.suppress(OSError):
            gitio.atomic_write(path, json.dumps(raw, ensure_ascii=False).encode("utf-8"))
    _parse_memo[oid] = raw
    return raw


_parse_memo: dict[str, dict[str, Any]] = {}


@dataclass
class Change:
    """What an action produces: files to write and the commit message."""

    subject: str
    action: str
    tickets: list[str] = field(default_factory=list)
    trailers: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, bytes | None] = field(default_factory=dict)
    sign: bool = False

    def put(self, ticket: Ticket) -> None:
        self.files[ticket.path] = ticket.dump()
        if ticket.id not in self.tickets:
            self.tickets.append(ticket.id)

    def message(self) -> str:
        lines = [f"Gitdesk-Action: {self.action}"]
        lines += [f"Gitdesk-Ticket: {t}" for t in self.tickets]
        lines += [f"{k}: {v}" for k, v in self.trailers]
        subject = " ".join(printable(self.subject).split())
        if len(subject) > 120:
            subject = subject[:117] + "..."
        return f"{subject}\n\n" + "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Written:
    commit: str
    change: Change


Builder = Callable[[Snapshot, datetime, Identity], Change]
Signer = Callable[[str], str]


class Desk:
    """A desk: a repository and the branch that holds the tickets."""

    def __init__(self, repo: gitio.Repo, ref: str) -> None:
        self.repo = repo
        self.ref = ref

    @classmethod
    def open(cls, path: str | None = None, branch: str | None = None) -> Desk:
        repo = gitio.open_repo(path)
        return cls(repo, gitio.resolve_ref(repo, branch))

    @property
    def branch(self) -> str:
        return self.ref.removeprefix("refs/heads/")

    def snapshot(self, rev: str | None = None) -> Snapshot:
        if rev is not None:
            return Snapshot(self.repo, gitio.rev_commit(self.repo, rev))
        return Snapshot(self.repo, gitio.tip(self.repo, self.ref))

    def checked_out(self) -> bool:
        return gitio.head_branch(self.repo) == self.ref

    def commit(self, build: Builder, *, signer: Signer | None = None) -> Written:
        """Apply one action as one commit on the branch; retry on a lost race."""
        for _attempt in range(MAX_ATTEMPTS):
            with gitio.write_lock(self.repo):
                written = self._attempt(build, signer)
            if written is not None:
                return written
        raise Conflict(f"{self.ref} kept moving while gitdesk tried to commit",
                       hint="retry the command")

    def _attempt(self, build: Builder, signer: Signer | None) -> Written | None:
        checked_out = self.checked_out()
        if checked_out:
            self._finish_pending()
        snap = self.snapshot()
        author = gitio.identity(self.repo, "AUTHOR")
        committer = gitio.identity(self.repo, "COMMITTER")
        change = build(snap, ident_time(author), author)
        if checked_out:
            self._refuse_dirty(snap, change)
        changes = {path: (gitio.write_blob(self.repo, data) if data is not None else None)
                   for path, data in change.files.items()}
        tree = gitio.build_tree(self.repo, snap.tree, changes)
        parents = [snap.oid] if snap.oid else []
        message = change.message()
        signature = None
        if signer is not None:
            content = gitio.commit_content(self.repo, tree=tree, parents=parents, author=author,
                                           committer=committer, message=message)
            signature = signer(content)
        oid = gitio.create_commit(self.repo, tree=tree, parents=parents, author=author,
                                  committer=committer, message=message, signature=signature)
        self._verify(oid)
        reflog = f"gitdesk: {printable(change.subject)}"
        journal = self.repo.state_dir / PENDING
        if checked_out:
            _refuse_held_index(self.repo.git_dir / "index.lock")
            gitio.atomic_write(journal, json.dumps(
                {"old": snap.oid, "new": oid, "paths": sorted(change.files)}).encode())
        if not gitio.cas_update_ref(self.repo, self.ref, oid, snap.oid, reflog):
            journal.unlink(missing_ok=True)
            return None
        if checked_out:
            gitio.update_worktree(self.repo, change.files)
            journal.unlink(missing_ok=True)
        return Written(commit=oid, change=change)

    def _finish_pending(self) -> None:
        """Bring the working tree up to the branch after a writer died between moving
        the branch and writing the files: paths still as the old commit had them
        take the tip's version; paths edited since are left alone."""
        journal = self.repo.state_dir / PENDING
        try:
            pending = json.loads(journal.read_text("utf-8"))
            written = journal.stat().st_mtime
        except (OSError, ValueError):
            return
        # The writer died, maybe inside pygit2's index write: an index.lock made
        # after its journal and left for STALE_INDEX_LOCK seconds is its own (git
        # holds index.lock briefly; a `git commit` waiting in an editor made its
        # lock before this journal or holds it only since)
        index_lock = self.repo.git_dir / "index.lock"
        with contextlib.suppress(FileNotFoundError):
            made = index_lock.stat().st_mtime
            if made >= written - 1 and time.time() - made > STALE_INDEX_LOCK:
                index_lock.unlink()
        _refuse_held_index(index_lock)
        try:
            old = Snapshot(self.repo, gitio.rev_commit(self.repo, pending["old"])) \
                if pending.get("old") else Snapshot(self.repo, None)
        except NotFound:
            journal.unlink(missing_ok=True)
            return
        tip = self.snapshot()
        paths = [str(p) for p in pending.get("paths", [])]
        state = gitio.worktree_state(self.repo, paths)
        updates = {}
        for path in paths:
            ours = {old.blob_oid(path), tip.blob_oid(path)}  # the writer's before and after
            if state[path][0] in ours and state[path][1] in ours and \
                    state[path] != (tip.blob_oid(path),) * 2:
                updates[path] = tip.read(path)
        if updates:
            gitio.update_worktree(self.repo, updates)
        assert self.repo.workdir is not None
        for path in paths:  # temporary files of an interrupted atomic write
            target = self.repo.workdir / path
            for leftover in target.parent.glob(f".{target.name}.*.tmp"):
                leftover.unlink(missing_ok=True)
        journal.unlink(missing_ok=True)

    def _verify(self, oid: str) -> None:
        """The verifier that guards hooks and CI judges this commit before it lands."""
        from gitdesk.actions.approve import trusted_approvers
        from gitdesk.verify.commits import verify_commit

        commit = gitio.get_commit(self.repo, oid)
        problems = verify_commit(self.repo, commit,
                                 approvers=lambda data: trusted_approvers(self, data))
        if problems:
            first = problems[0]
            raise RuleViolation("\n".join(v.message for v in problems), hint=first.hint)

    def _refuse_dirty(self, snap: Snapshot, change: Change) -> None:
        expected = {path: snap.blob_oid(path) for path in change.files}
        dirty = gitio.dirty_paths(self.repo, expected)
        if dirty:
            raise GitdeskError(
                "uncommitted edits in the working tree would be overwritten: "
                + ", ".join(dirty),
                hint="commit them (git commit), or discard them (git checkout -- PATH)")


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
