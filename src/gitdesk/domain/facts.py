"""A ticket's facts as the reports count them, and the status replay that decides
when it was resolved, closed or reopened (the definitions are in reports.facts
and the README). Plain data: the index fills them from its event rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gitdesk.domain.clock import parse_time
from gitdesk.domain.config import DeskConfig

UNRESOLVED_ENDINGS = ("cancelled", "rejected")


@dataclass
class Facts:
    id: str
    type: str
    values: dict[str, Any] = field(default_factory=dict)
    opened: datetime | None = None
    modified: datetime | None = None
    resolved: datetime | None = None
    closed: datetime | None = None
    reopened: int = 0
    category: str | None = None

    @property
    def status(self) -> str | None:
        value = self.values.get("status")
        return str(value) if value is not None else None

    def get(self, key: str) -> Any:
        return self.values.get(key)

    @property
    def due(self) -> datetime | None:
        text = self.values.get("due")
        return parse_time(str(text)) if text else None

    def target(self, config: DeskConfig) -> timedelta | None:
        """The resolution target: due minus opened when the ticket has a due time
        (a request's catalog target, or the priority's), else its priority's."""
        if self.opened is not None and self.due is not None:
            return self.due - self.opened
        priority = config.priorities.get(str(self.values.get("priority") or ""))
        return priority.target if priority is not None else None

    @property
    def is_open(self) -> bool:
        return self.category == "open"

    @property
    def counts_as_resolved(self) -> bool:
        return self.resolved is not None and self.status not in UNRESOLVED_ENDINGS

    def resolution_days(self) -> float | None:
        if not self.counts_as_resolved or self.opened is None or self.resolved is None:
            return None
        return (self.resolved - self.opened).total_seconds() / 86400

    def record(self, as_of: datetime) -> dict[str, Any]:
        out = {"id": self.id, "type": self.type, **self.values,
               "opened": _iso(self.opened), "modified": _iso(self.modified),
               "resolved": _iso(self.resolved), "closed": _iso(self.closed)}
        return out


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def enter(config: DeskConfig, facts: Facts, status: str | None, moment: datetime) -> None:
    """The ticket enters `status` at `moment` (status changes come in history order):
    into an open state it is unresolved again (a reopen, if it was resolved or
    closed); into a resolved or closed one from an open state, resolved then."""
    try:
        workflow = config.workflow_for(facts.type, facts.values)
    except Exception:  # a type or workflow the config no longer has
        return
    before = facts.category
    after = workflow.category(str(status)) if status is not None else None
    facts.category = after
    if after == "open":
        if before in ("resolved", "closed"):
            facts.reopened += 1
        facts.resolved = None
        facts.closed = None
    elif after in ("resolved", "closed"):
        if before == "open" or before is None or facts.resolved is None:
            facts.resolved = moment
        if after == "closed" and facts.closed is None:
            facts.closed = moment
