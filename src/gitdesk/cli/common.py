"""Helpers shared by the command modules: the desk, formats, prompts."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from gitdesk import gitio
from gitdesk.domain.clock import iso, parse_time
from gitdesk.errors import GitdeskError, NotFound, UsageError
from gitdesk.store.write import Desk
from gitdesk.verify import shims

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
    if shims.missing_driver_once(desk.repo):
        click.echo("gitdesk: note: git merges ticket files as text in this clone (notes "
                   "of two clones then conflict); `gitdesk doctor --fix` sets up gitdesk's "
                   "merge driver", err=True)
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


# Dates on the command line: one parser for every flag that takes one (--from, --to,
# --now, --as-of, --at). A date is 2026-11-01 or a date-time in ISO 8601
# (2026-11-01T09:00:00Z; UTC when no zone is given); --as-of and --at also take
# a revision, and there a date alone means the end of that day.
_DATE_LIKE = re.compile(r"\d{4}-\d")
_DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}")
DATE_FORMS = "a date like 2026-11-01 or a date-time like 2026-11-01T09:00:00Z"


def parse_date(text: str, flag: str, *, end_of_day: bool = False) -> datetime:
    """A date or date-time given to `flag`; a date alone is its first second, or with
    end_of_day its last."""
    try:
        moment = parse_time(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {text!r} is not a valid date ({exc})",
                         hint=f"give {DATE_FORMS}") from exc
    if end_of_day and _DATE_ONLY.fullmatch(text):
        moment = moment.replace(hour=23, minute=59, second=59)
    return moment


def date_option(text: str | None, flag: str) -> datetime | None:
    """A date or date-time option, or None if not given."""
    return parse_date(text, flag) if text else None


def _revision(desk: Desk, text: str, flag: str, *,
              date_error: UsageError | None) -> gitio.Commit:
    try:
        return gitio.rev_commit(desk.repo, text)
    except NotFound:
        if date_error is not None:
            raise date_error from None
        raise NotFound(f"{flag}: {text!r} is neither a date nor a revision of this repository",
                       hint=f"give {DATE_FORMS}, or a commit, branch or tag") from None


def _date_or_revision(desk: Desk, text: str,
                      flag: str) -> tuple[datetime | None, gitio.Commit | None]:
    """(moment, None) for a date (its end, for a date alone), (None, commit) for a
    revision. Text shaped like a date that is no valid date is an error, unless it
    names a revision (a tag called 2026-10-release)."""
    if _DATE_LIKE.match(text):
        try:
            return parse_date(text, flag, end_of_day=True), None
        except UsageError as exc:
            return None, _revision(desk, text, flag, date_error=exc)
    return None, _revision(desk, text, flag, date_error=None)


def as_of_option(desk: Desk, text: str | None, flag: str = "--as-of") -> datetime:
    """DATE|REV: a moment, or a commit's author time; default: now."""
    if not text:
        return datetime.now(UTC).replace(microsecond=0)
    moment, commit = _date_or_revision(desk, text, flag)
    if moment is not None:
        return moment
    assert commit is not None
    return datetime.fromtimestamp(commit.author.time, UTC)


def at_option(desk: Desk, text: str | None, flag: str = "--at") -> str | None:
    """DATE|REV: the commit a revision names, or for a date the last commit of the
    desk's branch whose author time is at or before it (the time reports use)."""
    if not text:
        return None
    moment, commit = _date_or_revision(desk, text, flag)
    if commit is not None:
        return str(commit.id)
    assert moment is not None
    limit = int(moment.timestamp())
    for record in gitio.stream_git(desk.repo, ["log", "--format=%x1e%H %at", desk.ref],
                                   b"\x1e"):
        oid, _, stamp = record.decode("ascii").strip().partition(" ")
        if int(stamp) <= limit:
            return oid  # leaving the loop stops git (stream_git's cleanup)
    raise NotFound(f"{flag}: {desk.branch} has no commit at or before {iso(moment)}")
