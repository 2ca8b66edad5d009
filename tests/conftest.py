"""Shared fixtures: real git repositories with isolated git configuration.

Every test runs with HOME, the global git config and the system git config
pointed away from the user's; a test that writes into HOME fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitdesk.cli.root import cli

GIT_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME",
                "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE", "GITDESK_REPO", "GITDESK_BRANCH",
                "GITDESK_DEBUG", "EMAIL", "GNUPGHOME", "SSH_AUTH_SOCK")


def isolate(mp: pytest.MonkeyPatch, base: Path) -> Path:
    """Point HOME, the global and the system git config away from the user's, with a
    test identity; returns the (empty) HOME. Module-scoped fixtures use it too."""
    home = base / "home"
    home.mkdir()
    gitconfig = base / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Test User\n\temail = test@example.org\n"
                         "[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    for key in GIT_ENV_DROP:
        mp.delenv(key, raising=False)
    for key, value in (("HOME", str(home)), ("XDG_CONFIG_HOME", str(home / ".config")),
                       ("GIT_CONFIG_GLOBAL", str(gitconfig)), ("GIT_CONFIG_NOSYSTEM", "1"),
                       ("GIT_TEMPLATE_DIR", ""), ("EDITOR", "false"), ("TZ", "UTC")):
        mp.setenv(key, value)
    return home


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """HOME, global and system git config isolated; HOME must stay untouched."""
    home = isolate(monkeypatch, tmp_path_factory.mktemp("env"))
    yield home
    leftovers = sorted(p.name for p in home.iterdir())
    assert not leftovers, f"a test wrote into HOME: {leftovers}"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def ok(self) -> Run:
        assert self.exit_code == 0, f"exit {self.exit_code}\n{self.stdout}\n{self.stderr}"
        return self


class Gitdesk:
    """Runs gitdesk commands in-process against one desk, as a user would."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, *args: str, input: str | None = None,
                 env: dict[str, str] | None = None) -> Run:
        runner = CliRunner()
        old = os.getcwd()
        os.chdir(self.path)
        try:
            result = runner.invoke(cli, list(args), input=input, env=env,
                                   catch_exceptions=False)
        finally:
            os.chdir(old)
        return Run(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, **kw: object) -> str:
        return self(*args, **kw).ok().stdout  # type: ignore[arg-type]

    def git(self, *args: str) -> str:
        return git(self.path, *args)

    def commits(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD").strip())

    def open(self, *args: str) -> str:
        return self.ok("open", *args).strip()


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True,
                          text=True).stdout


def fsck(path: Path) -> None:
    subprocess.run(["git", "-C", str(path), "fsck", "--strict", "--no-progress"], check=True,
                   capture_output=True)



def head(desk: Gitdesk) -> str:
    return desk.git("rev-parse", "HEAD").strip()


def refused(desk: Gitdesk, *args: str, code: int, says: tuple[str, ...] = ()) -> Run:
    """The command fails with `code`, says each text on stderr and commits nothing."""
    before = head(desk)
    run = desk(*args)
    assert run.exit_code == code, f"{args}: exit {run.exit_code}\n{run.stdout}\n{run.stderr}"
    for text in says:
        assert text in run.stderr, f"{args}: {text!r} not in stderr:\n{run.stderr}"
    assert head(desk) == before, f"{args}: a refused command committed"
    return run


def data(desk: Gitdesk, tid: str) -> dict[str, Any]:
    """A ticket as `show --format json` gives it."""
    result: dict[str, Any] = json.loads(desk.ok("show", tid, "--format", "json"))
    return result


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Gitdesk]:
    """A fresh ITIL desk (a non-bare repository with the branch checked out)."""
    path = tmp_path / "desk"
    result = Gitdesk(tmp_path)("init", str(path))
    assert result.exit_code == 0, result.stderr
    gd = Gitdesk(path)
    yield gd
    fsck(path)


@pytest.fixture
def gitdesk_bin() -> str:
    found = shutil.which("gitdesk")
    assert found, "the gitdesk console script is not installed"
    return found
