"""The server side: the installed gitdesk script the hooks exec, bare repositories
with gitdesk's server hooks, free local ports, and `git daemon` on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.cli import Gitdesk
from support.git import run


def gitdesk_executable() -> str:
    found = shutil.which("gitdesk", path=str(Path(sys.executable).parent)) \
        or shutil.which("gitdesk")
    assert found, "the gitdesk console script is not installed"
    return found


GITDESK = gitdesk_executable()


def bare_with_hooks(path: Path) -> Path:
    """A bare repository (the server) with gitdesk's pre-receive and update hooks."""
    run(["git", "init", "-q", "--bare", "-b", "main", str(path)])
    Gitdesk(path.parent)("--repo", str(path), "hooks", "install", "--server").ok()
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for servers the tests start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{what} exited with {proc.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what} does not accept connections on port {port}")


@dataclass(frozen=True)
class Daemon:
    root: Path
    port: int
    home: Path


@contextmanager
def git_daemon(base: Path) -> Iterator[Daemon]:
    """`git daemon` serving (and accepting pushes to) the bare repositories under
    `base`/repos; afterwards its HOME must still be empty.

    It runs the hooks with its own environment: a HOME and git config of its own,
    gitdesk on PATH and in GITDESK.
    """
    root, home = base / "repos", base / "home"
    root.mkdir()
    home.mkdir()
    (base / "gitconfig").write_text("")
    env = {"PATH": f"{Path(GITDESK).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin')}",
           "HOME": str(home), "GIT_CONFIG_GLOBAL": str(base / "gitconfig"),
           "GIT_CONFIG_NOSYSTEM": "1", "GITDESK": GITDESK, "TZ": "UTC", "LANG": "C.UTF-8"}
    port = free_port()
    with (base / "daemon.log").open("wb") as log:
        proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", f"--base-path={root}", "--export-all",
             "--enable=receive-pack", "--informative-errors", "--listen=127.0.0.1",
             f"--port={port}"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, proc, "git daemon")
            yield Daemon(root, port, home)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert not list(home.iterdir()), "the hooks wrote into the daemon's HOME"
