"""history: a ticket's timeline from git."""

from __future__ import annotations

from typing import Any

import click

from gitdesk.actions import history as timeline
from gitdesk.cli.common import desk_of, emit, format_option
from gitdesk.cli.output import render
from gitdesk.domain.text import one_line

COLUMNS = ("at", "author", "action", "field", "old", "new")


@click.command("history", epilog="Example:\n  gitdesk history INC-7Q2K")
@click.argument("ticket")
@format_option()
@click.pass_context
def history(ctx: click.Context, ticket: str, fmt: str) -> None:
    """Who changed what, when: the ticket's timeline from the git history."""
    _tid, events = timeline.ticket_history(desk_of(ctx), ticket)
    records = rows(events, width=None)
    columns = (*COLUMNS, "commit") if fmt != "table" else COLUMNS
    emit(render(records, columns, fmt, width=50))


def rows(events: list[timeline.Event], *, width: int | None = 50) -> list[dict[str, Any]]:
    """One record per field change, for table/CSV/JSON output (values cut to `width`
    characters for tables only)."""
    out = []
    for event in events:
        base = {"at": event.at, "author": event.author, "action": event.action,
                "commit": event.commit[:10]}
        if not event.changes:
            out.append({**base, "field": "", "old": "", "new": ""})
        for change in event.changes:
            out.append({**base, "field": change.field,
                        "old": _shown(change.old, width), "new": _shown(change.new, width)})
    return out


def _shown(value: Any, width: int | None) -> Any:
    if value is None:
        return ""
    if width is None:
        return value
    return one_line(value, width)


COMMANDS = [history]
