"""transition and its shortcuts: resolve, close, reopen, cancel."""

from __future__ import annotations

from collections.abc import Callable

import click

from gitdesk.actions import transitions as moves
from gitdesk.cli.commands.approvals import request_approvals
from gitdesk.cli.common import desk_of
from gitdesk.domain import change as changes
from gitdesk.store.write import Desk

_OPTIONS: list[Callable[[Callable[..., None]], Callable[..., None]]] = [
    click.option("-m", "--message", help="A note recorded with the move (the solution "
                                         "when resolving)."),
    click.option("--code", help="Resolution code (resolving)."),
    click.option("--reason", help="Pending reason (pending)."),
    click.option("--outcome", help="Review outcome (closing a change)."),
    click.option("--internal", is_flag=True, help="Record the note as internal."),
]


def _with_options(func: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


def _move(ctx: click.Context, ticket: str, state: str, **options: str | bool | None) -> None:
    desk = desk_of(ctx)
    written = moves.transition(desk, ticket, moves.Move(state, **options))  # type: ignore[arg-type]
    moved_to = dict(written.change.trailers).get("Gitdesk-To")
    if moved_to == "scheduled" and written.change.tickets[0].startswith(_prefix(desk)):
        warn_collisions(desk, written.change.tickets[0])
    request_approvals(desk, written.change.tickets[0])


def _prefix(desk: Desk) -> str:
    ticket_type = desk.snapshot().config.types.get("change")
    return f"{ticket_type.prefix}-" if ticket_type else "\0"


def warn_collisions(desk: Desk, ticket_id: str) -> None:
    from gitdesk.index.tickets import current_rows  # sqlite3 and the index: only where read
    _snap, rows = current_rows(desk)
    records = [r.data for r in rows if r.data is not None]
    for hit in changes.collisions(changes.schedule(records)):
        if ticket_id in (hit.first.id, hit.second.id):
            other = hit.second if hit.first.id == ticket_id else hit.first
            click.echo(f"gitdesk: warning: {ticket_id} collides with {other.id} "
                       f"({other.start} → {other.end}): shares {', '.join(hit.shared)}; "
                       f"combined risk {hit.risk}", err=True)


@click.command("transition", epilog="""\b
Examples:
  gitdesk transition INC-7Q2K in-progress
  gitdesk transition INC-7Q2K pending --reason awaiting-vendor -m "Case 4711 opened"
  gitdesk transition CHG-3MZ8 scheduled""")
@click.argument("ticket")
@click.argument("state")
@_with_options
@click.pass_context
def transition(ctx: click.Context, /, ticket: str, state: str,
               **options: str | bool | None) -> None:
    """Move a ticket to another state of its workflow."""
    _move(ctx, ticket, state, **options)


def _shortcut(name: str, summary: str, example: str) -> click.Command:
    @click.command(name, help=summary, epilog=f"Example:\n  {example}")
    @click.argument("ticket")
    @_with_options
    @click.pass_context
    def command(ctx: click.Context, /, ticket: str, **options: str | bool | None) -> None:
        _move(ctx, ticket, name, **options)

    return command


COMMANDS = [
    transition,
    _shortcut("resolve", "Resolve a ticket (needs --code and -m); open children too.",
              'gitdesk resolve INC-7Q2K --code workaround -m "Service restarted"'),
    _shortcut("close", "Close a ticket (a change needs --outcome).", "gitdesk close INC-7Q2K"),
    _shortcut("reopen", "Reopen a resolved or closed ticket.",
              'gitdesk reopen INC-7Q2K -m "Happened again"'),
    _shortcut("cancel", "Cancel a ticket.", 'gitdesk cancel INC-7Q2K -m "Opened by mistake"'),
]
