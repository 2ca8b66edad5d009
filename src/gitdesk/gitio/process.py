"""The git binary as a process: run it, stream its output, feed its input, and
the commands gitdesk leaves to it (rev-list, a compare-and-swap update-ref)."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING

from gitdesk.errors import Conflict, GitdeskError

if TYPE_CHECKING:
    from gitdesk.gitio.repo import Repo

ZERO_OID = "0" * 40


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


def run_status(repo: Repo | None, args: list[str]) -> tuple[int, bytes]:
    """Run the git binary for its exit status and output (a non-zero status is an
    answer here, not a failure)."""
    cmd = ["git"]
    if repo is not None:
        cmd += ["--git-dir", os.fspath(repo.git_dir)]
    try:
        proc = subprocess.run([*cmd, *args], capture_output=True, check=False,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise GitdeskError("the git binary was not found on PATH",
                           hint="install git (apt-get install git)") from exc
    return proc.returncode, proc.stdout


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
