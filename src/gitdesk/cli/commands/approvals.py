"""approve, reject, notify flush."""

from __future__ import annotations

import click

from gitdesk.actions import approve as approving
from gitdesk.cli.common import desk_of, require
from gitdesk.domain.text import one_line
from gitdesk.errors import GitdeskError
from gitdesk.store.write import Desk
from gitdesk.verify import trust


@click.command("approve", epilog='Example:\n  gitdesk approve CHG-3MZ8 -m "CAB 2026-11-25: go"')
@click.argument("ticket")
@click.option("-m", "--message", help="A comment recorded with the approval.")
@click.pass_context
def approve(ctx: click.Context, ticket: str, message: str | None) -> None:
    """Approve a change or request, in a commit signed with your key."""
    desk = desk_of(ctx)
    written = approving.decide(desk, ticket, approve=True, comment=message)
    click.echo(one_line(written.change.subject), err=True)


@click.command("reject", epilog='Example:\n  gitdesk reject CHG-3MZ8 -m "No back-out plan"')
@click.argument("ticket")
@click.option("-m", "--message", help="Why (required).")
@click.pass_context
def reject(ctx: click.Context, ticket: str, message: str | None) -> None:
    """Reject a change or request (it goes back to new, or ends rejected)."""
    message = require(message, "--message (-m)", "Reason")
    desk = desk_of(ctx)
    written = approving.decide(desk, ticket, approve=False, comment=message)
    click.echo(one_line(written.change.subject), err=True)


def request_approvals(desk: Desk, ticket_id: str) -> None:
    """Tell who must approve (stderr) and email them, if the ticket now awaits approval."""
    snap = desk.snapshot()
    ticket = snap.ticket(ticket_id)
    config, policy = snap.config, snap.policy
    if not approving.awaiting_approval(config.workflow_for(ticket.type, ticket.data),
                                       ticket.status):
        return
    data = ticket.plain()
    missing = trust.missing(desk.repo, desk.ref, config, policy, data)
    for shortfall in missing:
        click.echo(f"gitdesk: {ticket.id} {one_line(str(shortfall))}", err=True)
    if not missing:
        return  # e.g. an incident no approval rule selects: its first move is no gate for it
    from gitdesk.actions import notify as mail  # smtplib and email cost start-up; only load to send

    smtp = mail.Smtp.from_config(config.raw)
    to = mail.recipients(policy, missing)
    if smtp is None or not to:
        return
    try:
        message = mail.approval_request(smtp, to, data, missing)
    except Exception as exc:  # the action is committed: say so, never fail it now
        click.echo(f"gitdesk: warning: could not write the email to {', '.join(to)} "
                   f"({type(exc).__name__}: {exc}): ask them yourself", err=True)
        return
    outcome = mail.deliver(desk.repo, smtp, message)
    if outcome.error is None:
        click.echo(f"gitdesk: asked {', '.join(to)} by email", err=True)
    elif outcome.queued is not None:
        click.echo(f"gitdesk: warning: could not email {', '.join(to)} ({outcome.error}); the "
                   "message waits in the outbox: run `gitdesk notify flush`", err=True)
    else:
        click.echo(f"gitdesk: warning: could not email {', '.join(to)} ({outcome.error}): "
                   "ask them yourself", err=True)


@click.group("notify")
def notify() -> None:
    """Email notifications."""


@notify.command("flush", epilog="Example:\n  gitdesk notify flush")
@click.pass_context
def flush(ctx: click.Context) -> None:
    """Send the messages waiting in the outbox."""
    from gitdesk.actions import notify as mail  # smtplib and email cost start-up

    desk = desk_of(ctx)
    smtp = mail.Smtp.from_config(desk.snapshot().config.raw)
    if smtp is None:
        raise GitdeskError("no notify.smtp settings in .gitdesk/config.yaml")
    sent, errors = mail.flush(desk.repo, smtp)
    for error in errors:
        click.echo(f"gitdesk: not sent: {error}", err=True)
    click.echo(f"sent {sent}, waiting {len(errors)}", err=True)
    if errors:
        raise GitdeskError(f"{len(errors)} message(s) still in the outbox")


COMMANDS = [approve, reject, notify]
