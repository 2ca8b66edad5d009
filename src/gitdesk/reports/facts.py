"""Ticket facts as of a moment, replayed from the event index.

Definitions (the README repeats them; every report uses them):

- A ticket is *opened* by the commit that created its file (the time of its
  first event); tickets opened after the as-of time do not exist yet.
- Its fields as of a time are the values its events had set by then.
- It is *resolved* by the commit that moved it from an open state into a
  resolved- or closed-category state; a reopen (back to an open state) makes it
  unresolved again, and its resolution time then runs from opening to the final
  resolution. *Closed* likewise for the closed category.
- Tickets that ended cancelled or rejected count as closed but not as resolved:
  they are left out of resolution times and SLA shares.
- *Past due*: unresolved (in an open state) at the as-of time and due before it.
- Event times are commit author times, so back-dated history reports as dated.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from datetime import datetime

from gitdesk.domain.config import DeskConfig
from gitdesk.domain.facts import Facts
from gitdesk.index.facts import bring_up_to_date, facts_at, latest

__all__ = ["DEFINITIONS", "REPORT_FIELDS", "Facts", "facts_as_of"]

DEFINITIONS = (
    "Opened: the time of the commit that created the ticket's file.",
    "Resolved: the time of the commit that moved it from an open state into a resolved or "
    "closed state; a reopen makes it unresolved again, and resolution time runs from opening "
    "to the final resolution.",
    "Closed: not in an open state (resolved, closed, cancelled, rejected). Cancelled and "
    "rejected tickets are left out of resolution times and SLA shares.",
    "Past due: in an open state at the as-of time, with its due time before it.",
    "Times are commit author times in UTC; --as-of replays the history up to that moment.",
)
# The fields the reports read; others are fetched only when asked for (--where, --field).
REPORT_FIELDS = ("type", "summary", "status", "priority", "impact", "urgency", "severity",
                 "major", "due", "group", "assignee", "ci", "cis", "services", "category",
                 "subcategory", "submitter", "request_type", "approval_required",
                 "change_type", "outcome", "window", "risk")


def facts_as_of(db: sqlite3.Connection, ref: str, config: DeskConfig, as_of: datetime, *,
                fields: Collection[str] | None, stamp: str,
                since: datetime | None = None) -> dict[str, Facts]:
    """index.facts.facts_at, the fast way: from the desk after its last event, kept
    in the index.

    The facts after the last event are kept in the facts_latest table and
    brought up to date when the index moves (`stamp`: tip commit and config
    blob): only the tickets with new events are replayed. A ticket with no
    event after `as_of` was then as it is now; only the tickets changed since
    (their latest `modified` time is later) are replayed from their events up
    to `as_of`, and tickets opened after it are left out. So a report of last
    week replays last week's tickets, not the whole history.

    With `since`, only the tickets that matter to counts of what was open at
    `as_of` or opened or resolved after `since` are returned (the weekly report
    needs a few thousand of a hundred thousand): the ones open then, or opened
    or resolved after `since`. The others are not even read. The table is
    derived data inside .git/gitdesk/, like the rest of the index."""
    where = ""
    params: tuple[int, ...] = ()
    if since is not None:
        edge = int(since.timestamp())
        where = "category='open' OR opened>? OR resolved>? OR modified>?"
        params = (edge, edge, int(as_of.timestamp()))
    db.execute("BEGIN IMMEDIATE")  # one consistent state, and one writer of the table
    try:
        bring_up_to_date(db, ref, config, fields=fields, stamp=stamp)
        kept, changed = latest(db, ref, as_of, fields=fields, where=where, params=params)
        if changed:
            kept.update(facts_at(db, ref, config, as_of, fields=fields, only=changed))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return kept
