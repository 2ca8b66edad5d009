"""Write one action as one commit.

The write path: lock, read the branch tip, apply the action, verify, build
blobs and trees in memory, commit, move the branch by compare-and-swap, then
update the touched files in the working tree and index. A lost race is
retried from the top.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitdesk import gitio
from gitdesk.domain.clock import Identity, ident_time
from gitdesk.domain.model import Ticket
from gitdesk.errors import Conflict, GitdeskError, RuleViolation
from gitdesk.store import journal
from gitdesk.store.read import Snapshot
from gitdesk.verify.commits import verify_commit
from gitdesk.verify.files import Violation
from gitdesk.verify.trust import trusted_approvers
from gitdesk.yaml import roundtrip as yamlio

MAX_ATTEMPTS = 8


def printable(text: str) -> str:
    """Text safe for a commit message or reflog line: control characters become spaces."""
    return "".join(ch if ch.isprintable() or ch == " " else " " for ch in text)




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
        self.files[ticket.path] = yamlio.dump(ticket.data)
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


@dataclass(frozen=True)
class Prepared:
    """A verified commit of one change on top of `base`, not yet on any branch."""

    commit: str
    change: Change
    base: Snapshot


class CommitRefused(RuleViolation):
    """The verifier refused the commit an action made; nothing moved."""

    def __init__(self, message: str, violations: list[Violation], *,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.violations = violations


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

    def prepare(self, build: Builder, *, signer: Signer | None = None,
                snap: Snapshot | None = None) -> Prepared:
        """The commit of one action on the branch tip (or on `snap`), signed by signer
        and verified, as a commit object that no branch points at yet."""
        snap = snap if snap is not None else self.snapshot()
        author = gitio.identity(self.repo, "AUTHOR")
        committer = gitio.identity(self.repo, "COMMITTER")
        change = build(snap, ident_time(author), author)
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
        return Prepared(commit=oid, change=change, base=snap)

    def _attempt(self, build: Builder, signer: Signer | None) -> Written | None:
        checked_out = self.checked_out()
        if checked_out:
            journal.finish_pending(self.repo, self.ref)

        def guarded(snap: Snapshot, now: datetime, author: Identity) -> Change:
            change = build(snap, now, author)
            self._refuse_dirty(snap, change)
            return change

        prepared = self.prepare(guarded if checked_out else build, signer=signer)
        oid, change, snap = prepared.commit, prepared.change, prepared.base
        reflog = f"gitdesk: {printable(change.subject)}"
        if checked_out:
            journal.refuse_held_index(self.repo)
            journal.write(self.repo, snap.oid, oid, change.files)
        if not gitio.cas_update_ref(self.repo, self.ref, oid, snap.oid, reflog):
            journal.clear(self.repo)
            return None
        if checked_out:
            gitio.update_worktree(self.repo, change.files)
            journal.clear(self.repo)
        return Written(commit=oid, change=change)

    def _verify(self, oid: str) -> None:
        """The verifier that guards hooks and CI judges this commit before it lands."""
        commit = gitio.get_commit(self.repo, oid)
        problems = verify_commit(
            self.repo, commit, cached=True,
            approvers=lambda data: trusted_approvers(self.repo, self.ref, data))
        if problems:
            first = problems[0]
            raise CommitRefused("\n".join(v.message for v in problems), problems,
                                hint=first.hint)

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
