"""transition and its shortcuts: resolve, close, reopen, cancel."""

from __future__ import annotations

from collections.abc import Callable

import click

from gitdesk import actions
from gitdesk.commands._common import desk_of

_OPTIONS: list[Callable[[Callable[..., None]], Callable[..., None]]] = [
    click.option("-m", "--message", help="A note recorded with the move (the solution "
                                         "when resolving)."),
    click.option("--code", help="Resolution code (resolving)."),
    click.option("--reason", help="Pending reason (pending)."),
    click.option("--internal", is_flag=True, help="Record the note as internal."),
]


def _with_options(func: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


@click.command("transition", epilog="""\b
Examples:
  gitdesk transition INC-7Q2K in-progress
  gitdesk transition INC-7Q2K pending --reason awaiting-vendor -m "Case 4711 opened" """)
@click.argument("ticket")
@click.argument("state")
@_with_options
@click.pass_context
def transition(ctx: click.Context, ticket: str, state: str, message: str | None,
               code: str | None, reason: str | None, internal: bool) -> None:
    """Move a ticket to another state of its workflow."""
    move = actions.Move(state, message=message, code=code, reason=reason, internal=internal)
    actions.transition(desk_of(ctx), ticket, move)


def _shortcut(name: str, summary: str, example: str) -> click.Command:
    @click.command(name, help=summary, epilog=f"Example:\n  {example}")
    @click.argument("ticket")
    @_with_options
    @click.pass_context
    def command(ctx: click.Context, ticket: str, message: str | None, code: str | None,
                reason: str | None, internal: bool) -> None:
        move = actions.Move(name, message=message, code=code, reason=reason, internal=internal)
        actions.transition(desk_of(ctx), ticket, move)

    return command


COMMANDS = [
    transition,
    _shortcut("resolve", "Resolve a ticket (needs --code and -m).",
              'gitdesk resolve INC-7Q2K --code workaround -m "Service restarted"'),
    _shortcut("close", "Close a ticket.", "gitdesk close INC-7Q2K"),
    _shortcut("reopen", "Reopen a resolved or closed ticket.",
              'gitdesk reopen INC-7Q2K -m "Happened again"'),
    _shortcut("cancel", "Cancel a ticket.", 'gitdesk cancel INC-7Q2K -m "Opened by mistake"'),
]
