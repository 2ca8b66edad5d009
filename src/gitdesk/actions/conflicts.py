"""Settling what a merge recorded: `gitdesk conflicts resolve ID FIELD [--take VALUE]`.

A merge that found a value changed differently on both sides kept one (the
later change) and wrote the other into the ticket's `conflicts` list. Settling
removes the field's entries, optionally sets the value taken, and leaves a note
saying what was decided; it is one commit like any action.
"""

from __future__ import annotations

from typing import Any

from gitdesk.actions.common import commit_rule
from gitdesk.actions.tickets import SETTABLE, set_fields
from gitdesk.domain.clock import iso
from gitdesk.domain.edits import Context, Edit
from gitdesk.domain.model import Note, Ticket
from gitdesk.domain.text import one_line
from gitdesk.errors import RuleViolation, UsageError
from gitdesk.store.write import Desk, Written


def settled(ticket: Ticket, ctx: Context, *, field: str, take: str | None) -> Edit:
    """Drop the open conflict entries of `field`; with `take`, set the field to it."""
    entries = ticket.items_of("conflicts")
    mine = [e for e in entries if isinstance(e, dict) and e.get("field") == field]
    if not mine:
        open_fields = sorted({str(e.get("field")) for e in entries if isinstance(e, dict)})
        raise RuleViolation(f"{ticket.id} has no conflict on {field}",
                            hint=f"conflicts on: {', '.join(open_fields)}" if open_fields
                            else "it has no conflicts to settle")
    edit = Edit()
    before = _value(ticket, field)
    if take is not None:
        if field == "status":
            raise UsageError("--take for status: move the ticket with gitdesk transition, "
                             "then settle the conflict without --take")
        if field.startswith("fields."):
            edit = set_fields(ticket, ctx, values={}, fields={field[7:]: take})
        elif field in SETTABLE:
            edit = set_fields(ticket, ctx, values={field: take})
        else:
            raise UsageError(f"--take: {field} cannot be set",
                             hint=f"settable: {', '.join(SETTABLE)}, fields.NAME")
    rest = [e for e in entries if not (isinstance(e, dict) and e.get("field") == field)]
    if rest:
        ticket.set("conflicts", rest)
    else:
        ticket.unset("conflicts")
    kept = _value(ticket, field)
    others = ", ".join(one_line(e.get("value")) for e in mine)
    text = f"Conflict on {field} settled: {one_line(kept)}"
    text += f" (the merge had kept {one_line(before)}; the other side had {others})" \
        if take is not None else f" (the other side had {others})"
    ticket.append("notes", Note(iso(ctx.now), ctx.by, text).entry())
    edit.subject = f"{ticket.id}: settle {field} — {one_line(kept)}"
    return edit


def resolve(desk: Desk, query: str, field: str, *, take: str | None = None) -> Written:
    return commit_rule(desk, query, "conflicts",
                       lambda t, c: settled(t, c, field=field, take=take))


def _value(ticket: Ticket, field: str) -> Any:
    if field.startswith("fields."):
        return (ticket.get("fields") or {}).get(field[7:])
    return ticket.get(field)
