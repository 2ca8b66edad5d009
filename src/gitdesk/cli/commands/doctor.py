"""doctor: check a whole desk."""

from __future__ import annotations

import click

from gitdesk.actions import doctor as checks
from gitdesk.cli.common import desk_of
from gitdesk.errors import RuleViolation


@click.command("doctor", epilog="Example:\n  gitdesk doctor && echo healthy")
@click.option("--at", "rev", metavar="REV", help="Check the desk as it was at a revision.")
@click.pass_context
def doctor(ctx: click.Context, rev: str | None) -> None:
    """Check config, policy, keys and every ticket; name file, line and key of each problem.

    A desk whose admins have no signing key is unprotected (changes to .gitdesk/
    are trusted on first use): doctor warns on stderr, but that alone does not make
    it exit non-zero."""
    snap = desk_of(ctx).snapshot(rev)
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
