"""What the hooks do: verify pushed ranges (server) or the staged tree (pre-commit)."""

from __future__ import annotations

import contextlib
import fnmatch
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gitdesk import gitio
from gitdesk.domain.config import CONFIG_PATH
from gitdesk.errors import VerificationFailed
from gitdesk.verify.commits import Finding, anchor_of, verify_commit
from gitdesk.verify.files import Violation


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


def parse_updates(lines: Iterable[str]) -> list[RefUpdate]:
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            updates.append(RefUpdate(*parts))
    return updates


def _is_desk(repo: gitio.Repo, oid: str) -> bool:
    commit = gitio.commit_at(repo, oid)
    if commit is None:
        return False
    trees = [commit.tree, *(p.tree for p in commit.parents)]
    return any(gitio.entry(repo, tree, CONFIG_PATH) is not None for tree in trees)


@dataclass(frozen=True)
class Protection:
    """What the server hook guards and how long it may take (git config of the server
    repository): `gitdesk.protect` globs (default: every branch), `gitdesk.allowTags`
    and `gitdesk.hookTimeout` (seconds)."""

    patterns: tuple[str, ...] = ("refs/heads/*",)
    allow_tags: bool = False
    seconds: int = 300

    @classmethod
    def of(cls, repo: gitio.Repo) -> Protection:
        values = gitio.config_values(repo, "gitdesk.protect")
        settings = gitio.config(repo)
        tags = settings.get("gitdesk.allowtags", "").lower()
        try:
            seconds = int(settings.get("gitdesk.hooktimeout", "") or cls.seconds)
        except ValueError:
            seconds = cls.seconds
        return cls(tuple(values) or cls.patterns, tags in ("true", "yes", "on", "1"),
                   max(1, seconds))

    def save(self, repo: gitio.Repo) -> None:
        gitio.run_git(repo, ["config", "--unset-all", "gitdesk.protect"], check=False)
        for pattern in self.patterns:
            gitio.run_git(repo, ["config", "--add", "gitdesk.protect", pattern])
        gitio.run_git(repo, ["config", "gitdesk.allowTags", str(self.allow_tags).lower()])

    def guards(self, ref: str) -> bool:
        return any(fnmatch.fnmatchcase(ref, pattern) for pattern in self.patterns)


def check_update(repo: gitio.Repo, update: RefUpdate,
                 protection: Protection | None = None) -> list[Finding]:
    """Findings for one pushed ref update. Tags are refused unless allowed; refs the
    protection does not name pass unchecked; on a guarded ref every new commit is
    verified (desk or not), with the desk's first commit as the anchor of trust."""
    protection = protection or Protection.of(repo)
    if update.ref.startswith("refs/tags/"):
        if protection.allow_tags:
            return []
        return [Finding(update.new if update.new != gitio.ZERO_OID else update.old,
                        Violation(update.ref, "refs", "tags are refused on this desk's server",
                                  hint="an admin allows them on the server: git config "
                                       "gitdesk.allowTags true"))]
    if not protection.guards(update.ref):
        return []
    if update.new == gitio.ZERO_OID:
        if _is_desk(repo, update.old):
            return [Finding(update.old, Violation(update.ref, "no-delete",
                                                  "the desk's branch cannot be deleted"))]
        return []
    if update.old != gitio.ZERO_OID:
        base = gitio.run_git(repo, ["merge-base", update.old, update.new],
                             check=False).decode().strip()
        if base != update.old and _is_desk(repo, update.old):
            return [Finding(update.new, Violation(
                update.ref, "append-only", "the desk's history cannot be rewritten "
                "(non-fast-forward push)", hint="pull, rebase your new commits onto it, push"))]
    anchor = _anchor(repo, update)
    known = [tip for ref, tip in gitio.ref_tips(repo) if protection.guards(ref)]
    revisions = [update.new, "--not", *known] if known else [update.new]
    findings: list[Finding] = []
    for oid in gitio.rev_list(repo, revisions):
        commit = gitio.get_commit(repo, oid)
        findings += [Finding(oid, v) for v in verify_commit(repo, commit, anchor=anchor)]
    return findings


def _anchor(repo: gitio.Repo, update: RefUpdate) -> str | None:
    """Where trust starts for this push: the anchor of the branch as the server has
    it, else of the server's default branch, else (a first push) of what comes."""
    if update.old != gitio.ZERO_OID:
        found = anchor_of(repo, update.old)
        if found is not None:
            return found
    head = gitio.head_branch_of_bare(repo)
    if head is not None:
        found = anchor_of(repo, gitio.ref_target(repo, head))
        if found is not None:
            return found
    return anchor_of(repo, update.new)


def check_staged(repo: gitio.Repo) -> list[Violation]:
    """pre-commit: the staged tree judged against HEAD (signatures come later)."""
    tree = gitio.run_git(repo, ["write-tree"]).decode().strip()
    head = gitio.ref_target(repo, "HEAD")
    parent = [head] if head is not None else []
    ident = gitio.identity(repo, "COMMITTER")
    oid = gitio.create_commit(repo, tree=tree, parents=parent, author=ident, committer=ident,
                              message="staged changes (pre-commit check)\n")
    commit = gitio.get_commit(repo, oid)
    if not _is_desk(repo, oid):
        return []
    return [v for v in verify_commit(repo, commit) if v.rule not in ("signature", "admin")]


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Bound a hook's work: past `seconds` the push is refused (and the hook stops,
    whether or not the client is still waiting)."""
    def expire(_signum: int, _frame: object) -> None:
        raise VerificationFailed(f"push refused: checking it took longer than {seconds} s",
                                 hint="push fewer commits at a time, or raise "
                                      "gitdesk.hookTimeout on the server")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
