"""`gitdesk sync`: fetch, merge tickets in process, verify, push; again if the remote
moved meanwhile.

Transport is the git binary (so ssh config and credential helpers work); the
merge is domain.merge for every ticket file both sides changed, exactly what
`git pull` does with gitdesk's merge driver. A merge commit lands only after
the verifier passed it, by compare-and-swap on the branch like any gitdesk
commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitdesk import gitio
from gitdesk.domain.clock import ident_time
from gitdesk.errors import Conflict, GitdeskError, RuleViolation, VerificationFailed
from gitdesk.gitio import remote as transport
from gitdesk.store import merging
from gitdesk.store.batch import land
from gitdesk.store.write import Desk
from gitdesk.verify.commits import anchor_of, verify_commit

ATTEMPTS = 5


@dataclass
class Synced:
    """What a sync did."""

    remote: str
    branch: str
    fetched: str | None = None
    merged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    renumbered: list[tuple[str, str]] = field(default_factory=list)
    pushed: bool = False
    fast_forward: bool = False
    attempts: int = 0
    messages: list[str] = field(default_factory=list)


def sync(desk: Desk, remote: str = "origin", *, attempts: int = ATTEMPTS) -> Synced:
    """Bring the branch and the remote's branch of the same name together."""
    branch = desk.branch
    done = Synced(remote, branch)
    for attempt in range(1, attempts + 1):
        done.attempts = attempt
        theirs = transport.fetch(desk.repo, remote, branch)
        done.fetched = theirs
        ours = gitio.ref_target(desk.repo, desk.ref)
        if theirs is not None and ours is not None and ours != theirs and \
                not gitio.descends_from(desk.repo, ours, theirs):
            if gitio.descends_from(desk.repo, theirs, ours):
                _fast_forward(desk, ours, theirs)
                done.fast_forward = True
                return done
            ours = _merge(desk, ours, theirs, done)
        elif ours is None and theirs is not None:
            _fast_forward(desk, None, theirs)
            done.fast_forward = True
            return done
        if ours is None or ours == theirs:
            return done
        pushed = transport.push(desk.repo, remote, ours, branch)
        if pushed.ok:
            done.pushed = True
            return done
        if not pushed.behind:
            raise VerificationFailed(f"{remote} refused the push: {pushed.message}",
                                     hint="the merge (if any) is committed here; fix what "
                                          "the remote names, then sync again")
        done.messages.append(f"{remote} moved while pushing; fetching again")
    raise Conflict(f"{remote}/{branch} kept moving: gave up after {attempts} attempts",
                   hint="what was merged is committed here; run gitdesk sync again")


def _refuse_dirty(desk: Desk, ours: str | None, new: str) -> None:
    """Nothing lands over uncommitted edits of a file the sync would change."""
    if not desk.checked_out():
        return
    repo = desk.repo
    before = gitio.get_commit(repo, ours).tree if ours else None
    after = gitio.get_commit(repo, new).tree
    dirty = gitio.dirty_paths(repo, {path: old for path, old, _new
                                     in gitio.changed_blobs(repo, before, after)})
    if dirty:
        raise GitdeskError("uncommitted edits in the working tree would be overwritten: "
                           + ", ".join(dirty[:10]),
                           hint="commit them (git commit), or discard them; nothing was "
                                "changed")


def _fast_forward(desk: Desk, ours: str | None, theirs: str) -> None:
    _refuse_dirty(desk, ours, theirs)
    warning = land(desk.repo, desk.ref, theirs, ours,
                   f"gitdesk: sync fast-forward to {theirs[:10]}",
                   checked_out=desk.checked_out())
    if warning:
        raise GitdeskError(warning)


def _merge(desk: Desk, ours: str, theirs: str, done: Synced) -> str:
    repo = desk.repo
    base = gitio.merge_base(repo, [ours, theirs])
    if base is None:
        raise RuleViolation(f"{done.remote}/{done.branch} shares no history with "
                            f"{done.branch}: nothing to merge",
                            hint="check the remote's URL")
    author = gitio.identity(repo, "AUTHOR")
    committer = gitio.identity(repo, "COMMITTER")
    merged = merging.merge_tips(repo, base, ours, theirs, now=ident_time(author))
    message = _message(done, merged)
    commit = gitio.create_commit(repo, tree=merged.tree, parents=[ours, theirs],
                                 author=author, committer=committer, message=message)
    problems = verify_commit(repo, gitio.get_commit(repo, commit), cached=True,
                             anchor=anchor_of(repo, ours))
    if problems:
        raise RuleViolation("the merge breaks the desk's rules; nothing was changed:\n"
                            + "\n".join(str(v) for v in problems),
                            hint="commit here what settles each line above (e.g. undo the "
                                 "change it refuses), then sync again")
    _refuse_dirty(desk, ours, commit)
    warning = land(repo, desk.ref, commit, ours, f"gitdesk: {message.splitlines()[0]}",
                   checked_out=desk.checked_out())
    if warning:
        done.messages.append(warning)
    done.merged += merged.merged
    done.conflicts += merged.conflicts
    done.renumbered += merged.renumbered
    return commit


def _message(done: Synced, merged: merging.TreeMerge) -> str:
    subject = f"Merge {done.remote}/{done.branch}"
    if merged.merged:
        subject += f": {len(merged.merged)} ticket(s) merged"
    if merged.conflicts:
        subject += f", {len(merged.conflicts)} with conflicts"
    lines = ["Gitdesk-Action: merge"]
    lines += [f"Gitdesk-Ticket: {t}" for t in merged.merged]
    lines += [f"Gitdesk-Renumbered: {old} -> {new}" for old, new in merged.renumbered]
    return f"{subject}\n\n" + "\n".join(lines) + "\n"
