"""An action as a value: what a rule is given (`Context`) and what it produces (`Edit`).

A rule is a plain function of a ticket, a Context and its own inputs that edits
tickets in memory and returns an Edit; it does no I/O. The store turns the
Edit into one commit. Tests call rules with hand-made tickets and contexts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gitdesk.domain.config import DeskConfig, Policy
from gitdesk.domain.model import Ticket


@dataclass
class Edit:
    """The tickets an action changed, in the order it changed them, and the commit's
    subject and trailers."""

    subject: str = ""
    tickets: list[Ticket] = field(default_factory=list)
    trailers: list[tuple[str, str]] = field(default_factory=list)

    def touch(self, ticket: Ticket) -> None:
        if all(t.path != ticket.path for t in self.tickets):
            self.tickets.append(ticket)


@dataclass(frozen=True)
class Context:
    """What a rule may read besides its ticket: the desk's definitions, the moment,
    who acts, and other tickets by full ID (the policy is read only when asked for:
    a note is still recorded on a desk whose policy is broken)."""

    config: DeskConfig
    now: datetime
    by: str
    policy_of: Callable[[], Policy]
    tickets: Mapping[str, Ticket] = field(default_factory=dict)

    @property
    def policy(self) -> Policy:
        return self.policy_of()
