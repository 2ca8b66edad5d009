"""doctor: check a whole desk."""

from __future__ import annotations

import click

from gitdesk.actions import doctor as checks
from gitdesk.cli.common import desk_of
from gitdesk.errors import RuleViolation
from gitdesk.verify import shims


@click.command("doctor", epilog="Examples:\n  gitdesk doctor && echo healthy\n"
                                "  gitdesk doctor --fix      # set up the merge driver")
@click.option("--at", "rev", metavar="REV", help="Check the desk as it was at a revision.")
@click.option("--fix", is_flag=True, help="Set up what this clone lacks: gitdesk's merge "
                                          "driver for ticket files.")
@click.pass_context
def doctor(ctx: click.Context, rev: str | None, fix: bool) -> None:
    """Check config, policy, keys and every ticket; name file, line and key of each problem.

    A desk whose admins have no signing key is unprotected (changes to .gitdesk/
    are trusted on first use): doctor warns on stderr, but that alone does not make
    it exit non-zero."""
    desk = desk_of(ctx)
    if fix and desk.repo.workdir is not None and shims.merge_driver(desk.repo) is None:
        click.echo(f"set up the merge driver: {shims.configure_merge_driver(desk.repo)}",
                   err=True)
    elif desk.repo.workdir is not None and shims.merge_driver(desk.repo) is None:
        click.echo("gitdesk: warning: git merges ticket files as text in this clone; "
                   "`gitdesk doctor --fix` sets up gitdesk's merge driver", err=True)
    snap = desk.snapshot(rev)
    findings = checks.examine(snap)
    for finding in findings:
        click.echo(str(finding))
    warning = checks.unprotected(snap)
    if warning:
        click.echo(f"gitdesk: warning: {warning}", err=True)
    if findings:
        raise RuleViolation(f"{len(findings)} problem(s) found")
    click.echo("desk is healthy" + (", but unprotected (see the warning)" if warning else ""),
               err=True)


COMMANDS = [doctor]
