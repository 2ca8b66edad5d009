"""link and unlink: typed links, both ends written in one commit."""

from __future__ import annotations

import click

from gitdesk.actions import links as linking
from gitdesk.cli.common import desk_of


@click.command("link", epilog="Example:\n  gitdesk link INC-7Q2K caused-by PRB-3MZ8")
@click.argument("ticket")
@click.argument("rel")
@click.argument("other")
@click.pass_context
def link(ctx: click.Context, ticket: str, rel: str, other: str) -> None:
    """Link two tickets (the other end gets the inverse link)."""
    linking.link(desk_of(ctx), ticket, rel, other)


@click.command("unlink", epilog="Example:\n  gitdesk unlink INC-7Q2K caused-by PRB-3MZ8")
@click.argument("ticket")
@click.argument("rel")
@click.argument("other")
@click.pass_context
def unlink(ctx: click.Context, ticket: str, rel: str, other: str) -> None:
    """Remove a link from both tickets."""
    linking.link(desk_of(ctx), ticket, rel, other, remove=True)


COMMANDS = [link, unlink]
