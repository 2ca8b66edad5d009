"""link and unlink: typed links, both ends written in the same commit."""

from __future__ import annotations

from datetime import datetime

from gitdesk.actions.common import change_of, context
from gitdesk.domain.clock import Identity
from gitdesk.domain.edits import Context, Edit
from gitdesk.domain.model import Link, Ticket
from gitdesk.errors import RuleViolation, UsageError
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, Desk, Written


def link(desk: Desk, query: str, rel: str, other: str, *, remove: bool = False) -> Written:
    verb = "unlink" if remove else "link"

    def build(snap: Snapshot, now: datetime, author: Identity) -> Change:
        ticket = snap.ticket(query)
        edit = linked(ticket, context(snap, now, author, {ticket.id: ticket}), rel, other,
                      remove=remove)
        edit.touch(ticket)
        return change_of(edit, verb)

    return desk.commit(build)


def linked(ticket: Ticket, ctx: Context, rel: str, other: str, *,
           remove: bool = False) -> Edit:
    """Add (or remove) the link and its inverse on the other ticket."""
    edit = Edit()
    if remove:
        target = remove_link(ctx, edit, ticket, rel, other)
    else:
        target = add_link(ctx, edit, ticket, rel, other)
    edit.subject = f"{ticket.id}: {'unlink' if remove else 'link'} — {rel} {target}"
    return edit


def add_link(ctx: Context, edit: Edit, ticket: Ticket, rel: str, other_query: str) -> str:
    config = ctx.config
    if rel not in config.link_types:
        raise UsageError(f"{rel!r} is not a link type",
                         hint=f"link types: {', '.join(config.link_types)}")
    other = ctx.tickets[other_query]
    if other.id == ticket.id:
        raise RuleViolation(f"{ticket.id} cannot be linked to itself")
    if Link(rel, other.id) in ticket.links():
        raise RuleViolation(f"{ticket.id} already has {rel} {other.id}")
    ticket.append("links", Link(rel, other.id).entry())
    other.append("links", Link(config.link_types[rel], ticket.id).entry())
    edit.touch(other)
    return other.id


def remove_link(ctx: Context, edit: Edit, ticket: Ticket, rel: str, other_query: str) -> str:
    other = ctx.tickets[other_query]
    if Link(rel, other.id) not in ticket.links():
        present = ", ".join(f"{x.rel} {x.id}" for x in ticket.links()) or "none"
        raise RuleViolation(f"{ticket.id} has no link {rel} {other.id}", hint=f"links: {present}")
    _drop_link(ticket, Link(rel, other.id))
    _drop_link(other, Link(ctx.config.link_types.get(rel, rel), ticket.id))
    edit.touch(other)
    return other.id


def _drop_link(ticket: Ticket, gone: Link) -> None:
    links = ticket.get("links")
    if links is None:
        return
    for i, item in enumerate(list(links)):
        if isinstance(item, dict) and item.get("rel") == gone.rel and item.get("id") == gone.id:
            del links[i]
            return
