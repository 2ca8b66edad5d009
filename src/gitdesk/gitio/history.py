"""What the history says: merge bases, where a file began, refs, the ends of ranges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitdesk.gitio.process import run_git

if TYPE_CHECKING:
    from gitdesk.gitio.repo import Repo


def merge_base(repo: Repo, oids: list[str]) -> str | None:
    """The best common ancestor of the commits (octopus for more than two), or None
    when their histories are unrelated."""
    if len(oids) < 2:
        return oids[0] if oids else None
    out = run_git(repo, ["merge-base", "--octopus", *oids], check=False).decode().strip()
    return out.split()[0] if out else None


def first_adding(repo: Repo, tip: str, path: str) -> str | None:
    """The oldest commit on tip's first-parent chain that changes path (for a file
    that was never deleted: the commit that added it), or None."""
    out = run_git(repo, ["rev-list", "--first-parent", "--reverse", tip, "--", path],
                  check=False).decode().split()
    return out[0] if out else None


def ref_tips(repo: Repo) -> list[tuple[str, str]]:
    """(ref, commit) of every branch and other ref that points at a commit (tags peeled)."""
    out = run_git(repo, ["for-each-ref", "--format=%(refname)%00%(objectname)%00"
                         "%(objecttype)%00%(*objectname)%00%(*objecttype)"])
    tips = []
    for line in out.decode("utf-8", "replace").splitlines():
        ref, oid, kind, peeled, peeled_kind = [*line.split("\0"), "", "", "", ""][:5]
        if peeled_kind == "commit":
            tips.append((ref, peeled))
        elif kind == "commit":
            tips.append((ref, oid))
    return tips


def range_ends(repo: Repo, revisions: list[str]) -> tuple[list[str], list[str]]:
    """The commits a revision range includes from and excludes from (A..B: [B], [A])."""
    out = run_git(repo, ["rev-parse", "--revs-only", *revisions]).decode().split()
    return ([r for r in out if not r.startswith("^")],
            [r[1:] for r in out if r.startswith("^")])


def creator_email(repo: Repo, rev: str, path: str) -> str | None:
    """The author email of the commit that added path, in rev's history."""
    out = run_git(repo, ["log", "--diff-filter=A", "--format=%ae", rev, "--", path],
                  check=False).decode("utf-8", "replace").split()
    return out[-1] if out else None
