"""Helpers shared by the command modules: the desk, formats, prompts."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from gitdesk import gitio
from gitdesk.domain.clock import parse_time
from gitdesk.errors import GitdeskError, NotFound, UsageError
from gitdesk.store.write import Desk

F = TypeVar("F", bound=Callable[..., Any])


def desk_of(ctx: click.Context) -> Desk:
    root = ctx.find_root()
    obj = root.obj
    desk = Desk.open(obj.repo, obj.branch)
    if obj.branch and gitio.ref_target(desk.repo, desk.ref) is None:
        source = root.get_parameter_source("branch")
        flag = "GITDESK_BRANCH" if source == click.core.ParameterSource.ENVIRONMENT \
            else "--branch"
        names = gitio.run_git(desk.repo, ["for-each-ref", "--format=%(refname:short)",
                                          "refs/heads/"]).decode("utf-8", "replace").split()
        raise NotFound(f"{flag}: there is no branch {obj.branch!r} in this repository",
                       hint=f"branches: {', '.join(names) or 'none yet'}")
    return desk


def format_option(choices: tuple[str, ...] = ("table", "json", "yaml", "csv"),
                  default: str = "table") -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(choices), default=default,
                        show_default=True, help="Output format.")


def interactive() -> bool:
    return sys.stdin.isatty()


def require(value: str | None, flag: str, prompt: str) -> str:
    """A required value: prompted for on a terminal, else an error naming the flag."""
    if value:
        return value
    if interactive():
        answer: str = click.prompt(prompt, err=True)
        if answer.strip():
            return answer
    raise GitdeskError(f"missing {flag}", hint=f"pass {flag} (stdin is not a terminal)")


def parse_pairs(items: tuple[str, ...], flag: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag}: expected KEY=VALUE, got {item!r}")
        pairs[key.strip()] = value
    return pairs


def emit(text: str) -> None:
    click.echo(text, nl=False)


def date_option(text: str | None, flag: str) -> datetime | None:
    """A date or date-time option (UTC when no zone is given), or None if not given."""
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {text!r} is not a date like 2026-11-01 or a date-time "
                         "like 2026-11-01T09:00:00Z") from exc
