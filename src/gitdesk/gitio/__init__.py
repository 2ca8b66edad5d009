"""The thin layer over pygit2 and the git binary.

Everything else in gitdesk goes through these functions; none of them knows
what a ticket is. They live in modules by job (repo: the repository handle,
identities, branches; objects: blobs, trees, commits, references; process: the
git binary; worktree: the checkout, its index, local writes and the lock) and
are used from here, as `gitio.X`.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pygit2

from gitdesk.domain.clock import Identity
from gitdesk.errors import Conflict, GitdeskError, NotFound
from gitdesk.gitio.objects import (
    BLOB_MODE,
    TREE_MODE,
    ZERO_OID,
    Commit,
    Tree,
    blob_data,
    build_tree,
    changed_blobs,
    commit_at,
    commit_content,
    create_commit,
    descends_from,
    entry,
    format_ident,
    get_commit,
    list_dir,
    read_blob,
    ref_target,
    rev_commit,
    signature_of,
    subtree,
    tip,
    write_blob,
)
from gitdesk.gitio.worktree import (
    atomic_write,
    clear_stale_ref_locks,
    dirty_paths,
    hash_file,
    index_oid,
    update_worktree,
    worktree_state,
    write_lock,
)

__all__ = [
    "BLOB_MODE",
    "TREE_MODE",
    "ZERO_OID",
    "Commit",
    "Feeder",
    "Repo",
    "Tree",
    "atomic_write",
    "blob_data",
    "build_tree",
    "cas_update_ref",
    "changed_blobs",
    "clear_stale_ref_locks",
    "commit_at",
    "commit_content",
    "config",
    "create_commit",
    "descends_from",
    "dirty_paths",
    "entry",
    "format_ident",
    "get_commit",
    "hash_file",
    "head_branch",
    "head_branch_of_bare",
    "identities",
    "identity",
    "index_oid",
    "init_repo",
    "list_dir",
    "open_repo",
    "parse_ident",
    "read_blob",
    "ref_target",
    "resolve_ref",
    "rev_commit",
    "rev_list",
    "run_git",
    "signature_of",
    "stream_git",
    "subtree",
    "tip",
    "update_worktree",
    "worktree_state",
    "write_blob",
    "write_lock",
]


@dataclass
class Repo:
    """An opened repository: pygit2 handle plus the paths gitdesk needs."""

    git: pygit2.Repository
    git_dir: Path
    workdir: Path | None
    _config: dict[str, str] | None = field(default=None, repr=False)
    _identities: dict[str, Identity] | None = field(default=None, repr=False)

    @property
    def is_bare(self) -> bool:
        return self.workdir is None

    @property
    def state_dir(self) -> Path:
        """Where gitdesk keeps derived, disposable state (index, outbox)."""
        return self.git_dir / "gitdesk"


def open_repo(path: str | os.PathLike[str] | None) -> Repo:
    start = os.fspath(path) if path is not None else os.getcwd()
    try:
        found = pygit2.discover_repository(start)
    except pygit2.GitError:
        found = None
    if found is None:
        raise NotFound(
            f"not a git repository: {start}",
            hint="run `gitdesk init` to create a desk, or pass --repo PATH",
        )
    repo = pygit2.Repository(found)
    # In a pre-receive hook the pushed objects sit in a quarantine directory
    # that git names in the environment; libgit2 does not read it by itself.
    extra = [os.environ.get("GIT_OBJECT_DIRECTORY", ""), os.environ.get("GIT_QUARANTINE_PATH", "")]
    extra += os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "").split(os.pathsep)
    for directory in filter(None, extra):
        if os.path.isdir(directory):
            repo.odb.add_disk_alternate(directory)
    workdir = Path(repo.workdir) if repo.workdir else None
    return Repo(git=repo, git_dir=Path(repo.path), workdir=workdir)


def init_repo(path: Path, *, bare: bool = False, branch: str = "main") -> Repo:
    run_git(None, ["init", "-q", f"--initial-branch={branch}", *(["--bare"] if bare else []),
                   os.fspath(path)])
    return open_repo(path)


def run_git(repo: Repo | None, args: list[str], *, input: bytes | None = None,
            env: Mapping[str, str] | None = None, check: bool = True) -> bytes:
    """Run the git binary; raise GitdeskError with git's own message on failure."""
    cmd = ["git"]
    if repo is not None:
        cmd += ["--git-dir", os.fspath(repo.git_dir)]
        if repo.workdir is not None:
            cmd += ["--work-tree", os.fspath(repo.workdir)]
    cmd += args
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, env=full_env, check=False)
    except FileNotFoundError as exc:
        raise GitdeskError("the git binary was not found on PATH",
                           hint="install git (apt-get install git)") from exc
    if check and proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed"
        raise GitdeskError(f"git {args[0]}: {msg}")
    return proc.stdout


def stream_git(repo: Repo | None, args: list[str], separator: bytes) -> Iterator[bytes]:
    """Run the git binary and yield its output record by record (split at
    `separator`, which starts each record) while git is still writing: the
    caller's work overlaps git's. Raises GitdeskError if git fails."""
    cmd = ["git"]
    if repo is not None:
        cmd += ["--git-dir", os.fspath(repo.git_dir)]
    cmd += args
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: git never blocks on it
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors)
        except FileNotFoundError as exc:
            raise GitdeskError("the git binary was not found on PATH",
                               hint="install git (apt-get install git)") from exc
        assert proc.stdout is not None
        # A thread drains the pipe as git writes, so git is never held up by the
        # caller's work: a pipe holds only 64 KiB.
        chunks: queue.Queue[bytes] = queue.Queue(maxsize=256)
        reader = threading.Thread(target=_drain, args=(proc.stdout, chunks), daemon=True)
        reader.start()
        finished = False
        try:
            pending = b""
            while chunk := chunks.get():
                records = (pending + chunk).split(separator)
                pending = records.pop()
                for record in records:
                    if record:
                        yield record
            if pending:
                yield pending
            finished = True
        finally:
            if not finished:
                proc.kill()
                while reader.is_alive():  # unblock the reader if the queue is full
                    with contextlib.suppress(queue.Empty):
                        chunks.get(timeout=0.1)
            reader.join()
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            msg = errors.read().decode("utf-8", "replace").strip() or f"git {args[0]} failed"
            raise GitdeskError(f"git {args[0]}: {msg}")


def _drain(pipe: IO[bytes], chunks: queue.Queue[bytes]) -> None:
    try:
        while chunk := pipe.read1(1 << 20):  # type: ignore[attr-defined]
            chunks.put(chunk)
    finally:
        chunks.put(b"")


class Feeder:
    """A git process that reads a stream on its stdin (fast-import); its messages are
    kept in a temporary file for the error that names them."""

    def __init__(self, repo: Repo, args: list[str]) -> None:
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self._proc = subprocess.Popen(
            ["git", "--git-dir", os.fspath(repo.git_dir), *args], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=self._errors, bufsize=1 << 20)
        assert self._proc.stdin is not None
        self._stdin: IO[bytes] = self._proc.stdin

    def write(self, data: bytes) -> None:
        """Raises BrokenPipeError when git has stopped reading."""
        self._stdin.write(data)

    def close(self) -> int:
        """Close git's input and wait for it; its exit code."""
        with contextlib.suppress(BrokenPipeError):
            self._stdin.close()
        return self._proc.wait()

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def messages(self) -> str:
        """The end of what git wrote on stderr (the file is closed afterwards)."""
        if self._errors.closed:
            return "no message"
        self._errors.seek(0)
        text = self._errors.read().decode("utf-8", "replace").strip()[-2000:]
        return text or "no message"

    def release(self) -> None:
        self._errors.close()


def config(repo: Repo) -> dict[str, str]:
    """git's effective configuration (system, global, local, env), read once."""
    if repo._config is None:
        out = run_git(repo, ["config", "-z", "--list"], check=False)
        values: dict[str, str] = {}
        for item in out.decode("utf-8", "replace").split("\0"):
            if item:
                key, _, value = item.partition("\n")
                values[key.lower()] = value
        repo._config = values
    return repo._config


def identity(repo: Repo, role: str = "AUTHOR") -> Identity:
    """Author or committer exactly as git would make it (config, GIT_* variables)."""
    return identities(repo)[role]


def identities(repo: Repo) -> dict[str, Identity]:
    """Author and committer, asked of `git var` one by one as git's own commit does
    (strictly: an unknown identity is an error, not user@hostname); read once per
    repository handle."""
    if repo._identities is None:
        found = {}
        for role in ("AUTHOR", "COMMITTER"):
            cmd = ["git", "--git-dir", os.fspath(repo.git_dir), "var", f"GIT_{role}_IDENT"]
            proc = subprocess.run(cmd, capture_output=True, check=False)
            if proc.returncode != 0:
                raise GitdeskError(
                    f"git does not know who you are ({role.lower()} identity unknown)",
                    hint='run: git config user.name "Your Name" && '
                         'git config user.email you@example.org')
            found[role] = parse_ident(proc.stdout.decode("utf-8", "replace").strip())
        repo._identities = found
    return repo._identities


def parse_ident(line: str) -> Identity:
    name, _, rest = line.partition(" <")
    email, _, when = rest.partition("> ")
    stamp, _, tz = when.partition(" ")
    sign = -1 if tz.startswith("-") else 1
    digits = tz.lstrip("+-") or "0000"
    offset = sign * (int(digits[:-2] or 0) * 60 + int(digits[-2:]))
    return Identity(name=name, email=email, time=int(stamp), offset=offset)


def resolve_ref(repo: Repo, branch: str | None) -> str:
    """The full ref name of the desk's branch (HEAD's branch unless given)."""
    if branch:
        return branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    head = repo.git.references.get("HEAD")
    if head is not None and head.type == pygit2.enums.ReferenceType.SYMBOLIC:
        return str(head.target)
    raise GitdeskError("HEAD is detached; cannot tell which branch holds the desk",
                       hint="pass --branch NAME")


def rev_list(repo: Repo, args: list[str]) -> list[str]:
    """Commits of a range, oldest first (parents before children)."""
    out = run_git(repo, ["rev-list", "--reverse", "--topo-order", *args])
    return out.decode("ascii").split()


def cas_update_ref(repo: Repo, ref: str, new: str, old: str | None, message: str) -> bool:
    """Move ref to new only if it still points at old (None: must not exist)."""
    proc = subprocess.run(
        ["git", "--git-dir", os.fspath(repo.git_dir), "update-ref", "-m", message,
         ref, new, old or ZERO_OID],
        capture_output=True, check=False,
    )
    if proc.returncode == 0:
        return True
    current = repo.git.references.get(ref)
    moved = (current is None) != (old is None) or (
        current is not None and str(current.resolve().target) != old)
    if moved:
        return False
    msg = proc.stderr.decode("utf-8", "replace").strip()
    raise Conflict(f"could not move {ref}: {msg}",
                   hint="another git process may hold the ref lock; retry in a moment")


def head_branch(repo: Repo) -> str | None:
    """The branch checked out in the working tree, if any."""
    if repo.is_bare:
        return None
    head = repo.git.references.get("HEAD")
    if head is None or head.type != pygit2.enums.ReferenceType.SYMBOLIC:
        return None
    return str(head.target)


def head_branch_of_bare(repo: Repo) -> str | None:
    """The branch HEAD names, bare or not (a server's default branch)."""
    head = repo.git.references.get("HEAD")
    if head is None or head.type != pygit2.enums.ReferenceType.SYMBOLIC:
        return None
    return str(head.target)
