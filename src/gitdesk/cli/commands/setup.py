"""init and demo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from gitdesk.actions.init import TEMPLATES, init_desk, unprotected_warning
from gitdesk.cli import demo as demo_desk
from gitdesk.cli.common import emit


@click.command("init", epilog="""\b
Examples:
  gitdesk init desk && cd desk
  # without a signing key in git, protect the desk next (init tells you so):
  gitdesk people key add ID "$(cat ~/.ssh/id_ed25519.pub)"
""")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--template", type=click.Choice(TEMPLATES), default="itil", show_default=True)
@click.option("--bare", is_flag=True, help="Create a bare repository (server side).")
@click.pass_context
def init(ctx: click.Context, path: Path, template: str, bare: bool) -> None:
    """Create a desk (a git repository with .gitdesk/), or make a repository one."""
    branch = ctx.find_root().obj.branch
    desk, written = init_desk(path, template=template, bare=bare, branch=branch)
    click.echo(f"Initialised {template} desk in {path} ({desk.branch} at "
               f"{written.commit[:10]})", err=True)
    warning = unprotected_warning(desk, path)
    if warning:
        click.echo(f"gitdesk: {warning}", err=True)


@click.command("demo", epilog="Example:\n  gitdesk demo /tmp/demo-desk")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default="demo-desk")
@click.option("--until", type=click.DateTime(), help="End date of the demo history "
                                                     "(default: now).")
def demo(path: Path, until: datetime | None) -> None:
    """Build a sample desk with about 60 days of history, then list its open tickets."""
    end = until.replace(tzinfo=UTC) if until is not None else None
    demo_desk.build(path, until=end)
    as_of = ["--as-of", end.strftime("%Y-%m-%dT%H:%M:%SZ")] if end is not None else []
    click.echo(f"Demo desk built in {path}. Open tickets:", err=True)
    emit(demo_desk.run_command(path, ["list", "--open"]))
    for name in ("summary", "aging"):
        click.echo("", err=True)
        emit(demo_desk.run_command(path, ["report", name, *as_of]))


COMMANDS = [init, demo]
