"""The working tree and the index (.git/index) of a checkout, safe local writes,
and the lock that serialises gitdesk writers on one clone."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pygit2

from gitdesk.errors import Conflict

if TYPE_CHECKING:
    from gitdesk.gitio.repo import Repo


def hash_file(path: Path) -> str | None:
    try:
        return str(pygit2.hashfile(os.fspath(path)))
    except (OSError, pygit2.GitError):
        return None


def index_oid(repo: Repo, index: pygit2.Index, path: str) -> str | None:
    try:
        return str(index[path].id)
    except KeyError:
        return None


def worktree_state(repo: Repo, paths: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
    """(working tree blob id, index blob id) of each path; None where absent."""
    assert repo.workdir is not None
    index = repo.git.index
    index.read(False)
    return {path: (hash_file(repo.workdir / path), index_oid(repo, index, path))
            for path in paths}


def dirty_paths(repo: Repo, expected: Mapping[str, str | None]) -> list[str]:
    """Paths whose working tree file or index entry differ from the expected blob."""
    state = worktree_state(repo, expected)
    return [path for path, oid in expected.items() if state[path] != (oid, oid)]


def update_worktree(repo: Repo, files: Mapping[str, bytes | None]) -> None:
    """Write the touched files and their index entries (only those entries)."""
    assert repo.workdir is not None
    index = repo.git.index
    index.read(False)
    for path, data in files.items():
        target = repo.workdir / path
        if data is None:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            with contextlib.suppress(KeyError, OSError):
                index.remove(path)
            continue
        atomic_write(target, data)
        index.add(path)
    index.write()


def atomic_write(target: Path, data: bytes, *, private: bool = False) -> None:
    """Write target in one step (a temporary file in its folder, then a rename). The
    file gets the permissions the user's umask gives new files, as git gives files it
    checks out (mkstemp alone would make it 0600); `private` keeps it 0600."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if not private:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)  # reading it means setting it: put it straight back
    os.umask(mask)
    return mask


@contextlib.contextmanager
def write_lock(repo: Repo, timeout: float = 30.0) -> Iterator[None]:
    """Serialise gitdesk writers on one clone. The kernel drops it if we die."""
    path = repo.git_dir / "gitdesk.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise Conflict(f"another gitdesk command holds {path}",
                                   hint="wait for it to finish and retry") from exc
                time.sleep(0.02)
        clear_stale_ref_locks(repo)
        yield
    finally:
        os.close(fd)


def clear_stale_ref_locks(repo: Repo, age: float = 10.0) -> None:
    """Remove ref lock files left by a killed writer (older than `age` seconds).

    Only called while holding the gitdesk lock; a lock file that old is not
    held by a live git process (git holds ref locks for milliseconds).
    """
    heads = repo.git_dir / "refs" / "heads"
    now = time.time()
    for lock in heads.rglob("*.lock") if heads.is_dir() else []:
        with contextlib.suppress(FileNotFoundError):
            if now - lock.stat().st_mtime > age:
                lock.unlink()
