"""From a rule to a commit: the context a rule reads and the change the store writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from gitdesk.domain.clock import Identity
from gitdesk.domain.edits import Context, Edit
from gitdesk.domain.model import Ticket
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, Desk, Written

Rule = Callable[[Ticket, Context], Edit]


def actor(snap: Snapshot, author: Identity) -> str:
    """The policy person id of the author (by email), else git's author name."""
    try:
        person = snap.policy.person_by_email(author.email)
    except Exception:  # a desk without a usable policy still records notes
        person = None
    return person.id if person else author.name


class TicketsAt(Mapping[str, Ticket]):
    """The tickets of a snapshot by ID or unique prefix, each loaded once: a rule that
    edits one gets the same object back, and the store writes that object."""

    def __init__(self, snap: Snapshot, loaded: Mapping[str, Ticket] | None = None) -> None:
        self.snap = snap
        self._loaded: dict[str, Ticket] = dict(loaded or {})

    def __getitem__(self, query: str) -> Ticket:
        if query in self._loaded:
            return self._loaded[query]
        ticket_id = self.snap.resolve(query)
        if ticket_id not in self._loaded:
            self._loaded[ticket_id] = self.snap.load(self.snap.path_of(ticket_id))
        return self._loaded[ticket_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded)

    def __len__(self) -> int:
        return len(self._loaded)


def context(snap: Snapshot, now: datetime, author: Identity,
            loaded: Mapping[str, Ticket] | None = None) -> Context:
    return Context(config=snap.config, now=now, by=actor(snap, author),
                   policy_of=lambda: snap.policy, tickets=TicketsAt(snap, loaded))


def change_of(edit: Edit, action: str, *, first: list[str] | None = None) -> Change:
    """The commit an edit makes: its tickets' files, subject and trailers."""
    change = Change(subject=edit.subject, action=action, tickets=list(first or []),
                    trailers=list(edit.trailers))
    for ticket in edit.tickets:
        change.put(ticket)
    return change


def commit_rule(desk: Desk, query: str, action: str, rule: Rule) -> Written:
    """Load one ticket at the tip, apply the rule to it, commit what it changed (the
    ticket itself after any other ticket the rule touched)."""
    def build(snap: Snapshot, now: datetime, author: Identity) -> Change:
        ticket = snap.ticket(query)
        edit = rule(ticket, context(snap, now, author, {ticket.id: ticket}))
        edit.touch(ticket)
        return change_of(edit, action)

    return desk.commit(build)
