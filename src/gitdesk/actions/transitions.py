"""transition and its shortcuts: moving a ticket through its workflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gitdesk.actions.tickets import edit
from gitdesk.domain.clock import iso
from gitdesk.domain.config import DeskConfig
from gitdesk.domain.incident import resolve_children
from gitdesk.domain.model import Note, Ticket
from gitdesk.domain.workflow import check_choice, check_move, target_state
from gitdesk.errors import RuleViolation
from gitdesk.store.write import Change, Desk, Snapshot, Written


@dataclass(frozen=True)
class Move:
    target: str
    message: str | None = None
    code: str | None = None
    reason: str | None = None
    outcome: str | None = None
    internal: bool = False


def transition(desk: Desk, query: str, move: Move) -> Written:
    def apply(snap: Snapshot, ticket: Ticket, now: datetime, by: str, change: Change) -> str:
        config = snap.config
        workflow = config.workflow_for(ticket.type, ticket.data)
        source = ticket.status
        target = target_state(workflow, move.target)
        check_move(workflow, ticket.id, source, target)
        category = workflow.category(target)
        if category == "resolved":
            _resolve_fields(config, ticket, move)
        if target == "pending" or "pending_reason" in workflow.states[target].requires:
            check_choice(config.pending_reasons, move.reason, "--reason")
            if move.reason:
                ticket.set("pending_reason", move.reason)
        elif ticket.get("pending_reason") is not None:
            ticket.unset("pending_reason")
        if category == "open" and workflow.category(source) != "open":
            ticket.unset("resolution_code")
            ticket.unset("solution")
        if "outcome" in workflow.states[target].requires or move.outcome is not None:
            check_choice(config.outcomes, move.outcome, "--outcome")
            if move.outcome:
                ticket.set("outcome", move.outcome)
        ticket.set("status", target)
        if move.message:
            ticket.append("notes", Note(iso(now), by, move.message, move.internal).to_yaml())
        change.trailers += [("Gitdesk-From", source), ("Gitdesk-To", target)]
        if category == "resolved":
            for child in resolve_children(snap, change, ticket, by, now):
                change.trailers.append(("Gitdesk-Child-Resolved", child))
        verb = next((k for k, v in workflow.shortcuts.items() if v == target and
                     (k != "reopen" or workflow.category(source) != "open")), target)
        return f"{verb} — {move.message}" if move.message else f"{verb} ({source} -> {target})"

    return edit(desk, query, "transition", apply)


def _resolve_fields(config: DeskConfig, ticket: Ticket, move: Move) -> None:
    if move.code is None and ticket.get("resolution_code") is None:
        codes = ", ".join(config.resolution_codes)
        raise RuleViolation(f"{ticket.id}: resolving needs a resolution code (--code)",
                            hint=f"codes: {codes}")
    if move.code is not None:
        if config.resolution_codes and move.code not in config.resolution_codes:
            raise RuleViolation(f"--code: {move.code!r} is not a resolution code",
                                hint=f"codes: {', '.join(config.resolution_codes)}")
        ticket.set("resolution_code", move.code)
    if not move.message and not ticket.get("solution"):
        raise RuleViolation(f"{ticket.id}: resolving needs a note saying what was done (-m TEXT)")
    if move.message:
        ticket.set("solution", move.message)


