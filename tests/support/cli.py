"""gitdesk run in-process through click's CliRunner, as a user would run it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from gitdesk.cli.root import cli
from support.git import at, git


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


def open_at(desk: Gitdesk, when: str, *args: str) -> str:
    """`gitdesk open ...` back-dated to `when`; returns the new ID."""
    return desk.ok("open", *args, env=at(when)).strip()
