"""What the hooks do: verify pushed ranges (server) or the staged tree (pre-commit)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gitdesk import gitio
from gitdesk.domain.config import CONFIG_PATH
from gitdesk.verify.commits import Finding, verify_commit
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


def check_update(repo: gitio.Repo, update: RefUpdate) -> list[Finding]:
    """Findings for one pushed ref update (branches only; tags pass)."""
    if not update.ref.startswith("refs/heads/"):
        return []
    head = gitio.head_branch_of_bare(repo)
    if update.new == gitio.ZERO_OID:
        if update.ref == head and _is_desk(repo, update.old):
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
        revisions = [f"{update.old}..{update.new}"]
    else:
        revisions = [update.new, "--not", "--all"]
    findings: list[Finding] = []
    for oid in gitio.rev_list(repo, revisions):
        if not _is_desk(repo, oid):
            continue
        commit = gitio.get_commit(repo, oid)
        findings += [Finding(oid, v) for v in verify_commit(repo, commit)]
    return findings


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
