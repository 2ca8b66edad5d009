"""The worktree journal: which files a writer must still bring up to the branch.

A writer killed between moving the branch and writing the files leaves
`.git/gitdesk/worktree-pending.json` (old commit, new commit, paths), written
before the compare-and-swap and removed after the working tree is updated. The
next writer, under the lock, finishes what it left.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping

from gitdesk import gitio
from gitdesk.errors import Conflict, NotFound
from gitdesk.store.read import Snapshot

STALE_INDEX_LOCK = 10.0  # seconds; see finish_pending
PENDING = "worktree-pending.json"  # under .git/gitdesk/: files the branch moved ahead of


def write(repo: gitio.Repo, old: str | None, new: str, files: Mapping[str, object]) -> None:
    gitio.atomic_write(repo.state_dir / PENDING, json.dumps(
        {"old": old, "new": new, "paths": sorted(files)}).encode())


def clear(repo: gitio.Repo) -> None:
    (repo.state_dir / PENDING).unlink(missing_ok=True)


def refuse_held_index(repo: gitio.Repo) -> None:
    index_lock = repo.git_dir / "index.lock"
    if index_lock.exists():
        raise Conflict(f"{index_lock} exists: another git command is using the index",
                       hint="wait for it to finish; remove the file only if no git "
                            "process is running")


def finish_pending(repo: gitio.Repo, ref: str) -> None:
    """Bring the working tree up to the branch after a writer died between moving
    the branch and writing the files: paths still as the old commit had them
    take the tip's version; paths edited since are left alone."""
    journal = repo.state_dir / PENDING
    try:
        pending = json.loads(journal.read_text("utf-8"))
        written = journal.stat().st_mtime
    except (OSError, ValueError):
        return
    # The writer died, maybe inside pygit2's index write: an index.lock made
    # after its journal and left for STALE_INDEX_LOCK seconds is its own (git
    # holds index.lock briefly; a `git commit` waiting in an editor made its
    # lock before this journal or holds it only since)
    index_lock = repo.git_dir / "index.lock"
    with contextlib.suppress(FileNotFoundError):
        made = index_lock.stat().st_mtime
        if made >= written - 1 and time.time() - made > STALE_INDEX_LOCK:
            index_lock.unlink()
    refuse_held_index(repo)
    try:
        old = Snapshot(repo, gitio.rev_commit(repo, pending["old"])) \
            if pending.get("old") else Snapshot(repo, None)
    except NotFound:
        journal.unlink(missing_ok=True)
        return
    tip = Snapshot(repo, gitio.tip(repo, ref))
    paths = [str(p) for p in pending.get("paths", [])]
    state = gitio.worktree_state(repo, paths)
    updates = {}
    for path in paths:
        ours = {old.blob_oid(path), tip.blob_oid(path)}  # the writer's before and after
        if state[path][0] in ours and state[path][1] in ours and \
                state[path] != (tip.blob_oid(path),) * 2:
            updates[path] = tip.read(path)
    if updates:
        gitio.update_worktree(repo, updates)
    assert repo.workdir is not None
    for path in paths:  # temporary files of an interrupted atomic write
        target = repo.workdir / path
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)
    journal.unlink(missing_ok=True)
