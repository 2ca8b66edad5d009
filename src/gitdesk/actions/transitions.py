"""transition and its shortcuts: moving a ticket through its workflow."""

from __future__ import annotations

from dataclasses import dataclass

from gitdesk.actions.common import commit_rule
from gitdesk.domain.clock import iso
from gitdesk.domain.edits import Context, Edit
from gitdesk.domain.incident import resolve_children
from gitdesk.domain.model import Note, Ticket
from gitdesk.domain.workflow import Entry, check_move, enter_state, target_state
from gitdesk.errors import RuleViolation
from gitdesk.store.write import Desk, Written


@dataclass(frozen=True)
class Move:
    target: str
    message: str | None = None
    code: str | None = None
    reason: str | None = None
    outcome: str | None = None
    internal: bool = False


def moved(ticket: Ticket, ctx: Context, move: Move) -> Edit:
    """Move the ticket along its workflow; resolving a parent resolves its open children."""
    config = ctx.config
    workflow = config.workflow_for(ticket.type, ticket.data)
    source = ticket.status
    target = target_state(workflow, move.target)
    if move.target == "reopen" and "reopen" not in workflow.states \
            and workflow.category(source) == "open":
        raise RuleViolation(f"{ticket.id}: cannot reopen: it is {source}, not resolved or "
                            "closed", hint=f"to move it on: gitdesk transition {ticket.id} "
                                           f"{target}")
    check_move(workflow, ticket.id, source, target)
    resolving = workflow.category(target) == "resolved"
    verb = enter_state(config, workflow, ticket, target, Entry(
        code=move.code, solution=move.message if resolving else None, reason=move.reason,
        outcome=move.outcome))
    if move.message:
        ticket.append("notes", Note(iso(ctx.now), ctx.by, move.message, move.internal).entry())
    edit = Edit(subject=f"{ticket.id}: " + (f"{verb} — {move.message}" if move.message
                                            else f"{verb} ({source} -> {target})"),
                trailers=[("Gitdesk-From", source), ("Gitdesk-To", target)])
    if resolving:
        for child in resolve_children(ctx, edit, ticket):
            edit.trailers.append(("Gitdesk-Child-Resolved", child))
    return edit


def transition(desk: Desk, query: str, move: Move) -> Written:
    return commit_rule(desk, query, "transition", lambda t, c: moved(t, c, move))
