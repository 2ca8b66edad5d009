"""history: a ticket's timeline from git."""

from __future__ import annotations

import click

from gitdesk.actions import history as timeline
from gitdesk.cli.common import desk_of, emit, format_option
from gitdesk.cli.output import render

COLUMNS = ("at", "author", "action", "field", "old", "new")


@click.command("history", epilog="Example:\n  gitdesk history INC-7Q2K")
@click.argument("ticket")
@format_option()
@click.pass_context
def history(ctx: click.Context, ticket: str, fmt: str) -> None:
    """Who changed what, when: the ticket's timeline from the git history."""
    _tid, events = timeline.ticket_history(desk_of(ctx), ticket)
    records = timeline.rows(events, width=None)
    columns = (*COLUMNS, "commit") if fmt != "table" else COLUMNS
    emit(render(records, columns, fmt, width=50))


COMMANDS = [history]
