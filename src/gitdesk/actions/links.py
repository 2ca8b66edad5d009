"""link and unlink: typed links, both ends written in the same commit."""

from __future__ import annotations

from datetime import datetime

from gitdesk.domain.clock import Identity
from gitdesk.domain.model import Link, Ticket
from gitdesk.errors import RuleViolation, UsageError
from gitdesk.store.write import Change, Desk, Snapshot, Written


def link(desk: Desk, query: str, rel: str, other: str, *, remove: bool = False) -> Written:
    def build(snap: Snapshot, now: datetime, author: Identity) -> Change:
        ticket = snap.ticket(query)
        verb = "unlink" if remove else "link"
        change = Change(subject="", action=verb)
        if remove:
            target = remove_link(snap, change, ticket, rel, other)
        else:
            target = add_link(snap, change, ticket, rel, other)
        change.subject = f"{ticket.id}: {verb} — {rel} {target}"
        change.put(ticket)
        return change

    return desk.commit(build)


def add_link(snap: Snapshot, change: Change, ticket: Ticket, rel: str, other_query: str) -> str:
    config = snap.config
    if rel not in config.link_types:
        raise UsageError(f"{rel!r} is not a link type",
                         hint=f"link types: {', '.join(config.link_types)}")
    other = snap.ticket(other_query)
    if other.id == ticket.id:
        raise RuleViolation(f"{ticket.id} cannot be linked to itself")
    if Link(rel, other.id) in ticket.links():
        raise RuleViolation(f"{ticket.id} already has {rel} {other.id}")
    ticket.append("links", Link(rel, other.id).to_yaml())
    other.append("links", Link(config.link_types[rel], ticket.id).to_yaml())
    change.put(other)
    return other.id


def remove_link(snap: Snapshot, change: Change, ticket: Ticket, rel: str, other_query: str) -> str:
    config = snap.config
    other = snap.ticket(other_query)
    if Link(rel, other.id) not in ticket.links():
        present = ", ".join(f"{x.rel} {x.id}" for x in ticket.links()) or "none"
        raise RuleViolation(f"{ticket.id} has no link {rel} {other.id}", hint=f"links: {present}")
    _drop_link(ticket, Link(rel, other.id))
    _drop_link(other, Link(config.link_types.get(rel, rel), ticket.id))
    change.put(other)
    return other.id


def _drop_link(ticket: Ticket, gone: Link) -> None:
    links = ticket.get("links")
    if links is None:
        return
    for i, item in enumerate(list(links)):
        if isinstance(item, dict) and item.get("rel") == gone.rel and item.get("id") == gone.id:
            del links[i]
            return
