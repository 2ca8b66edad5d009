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

import json
import marshal
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gitdesk.domain.clock import parse_time
from gitdesk.domain.config import DeskConfig
from gitdesk.index import events

UNRESOLVED_ENDINGS = ("cancelled", "rejected")
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
JSON_FIELDS = ("submitter", "window", "cis", "services", "escalation", "risk_answers")


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
        if key.startswith("fields."):
            return self.values.get(key)
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


def _value(field_name: str, text: Any) -> Any:
    if text is None or not isinstance(text, str):
        return text
    if field_name in JSON_FIELDS or text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


# The fields the reports read; others are fetched only when asked for (--where, --field).
REPORT_FIELDS = ("type", "summary", "status", "priority", "impact", "urgency", "severity",
                 "major", "due", "group", "assignee", "ci", "cis", "services", "category",
                 "subcategory", "submitter", "request_type", "approval_required",
                 "change_type", "outcome", "window", "risk")


def facts_at(db: sqlite3.Connection, ref: str, config: DeskConfig, as_of: datetime | None, *,
             fields: Collection[str] | None = REPORT_FIELDS,
             only: Collection[str] | None = None) -> dict[str, Facts]:
    """Every ticket as it was at `as_of` (None: after the last event), from the
    event index; with `only`, just those tickets.

    SQLite picks each field's last value (in history order) at or before the
    moment; Python replays only the status changes, which decide when a ticket was
    resolved, closed or reopened."""
    limit = _FOREVER if as_of is None else int(as_of.timestamp())
    # `events` or, for a few tickets, those tickets' rows found through events_ticket
    rows = "events"
    if only is not None:
        db.execute("CREATE TEMP TABLE IF NOT EXISTS chosen(ticket TEXT PRIMARY KEY)")
        db.execute("DELETE FROM chosen")
        db.executemany("INSERT OR IGNORE INTO chosen VALUES(?)", ((t,) for t in only))
        rows = "chosen CROSS JOIN events INDEXED BY events_ticket USING(ticket)"
    tickets: dict[str, Facts] = {}
    for tid, type_name, first, last in db.execute(
            f"SELECT ticket, type, MIN(time), MAX(time) FROM {rows} WHERE ref=? AND time<=? "
            "GROUP BY ticket", (ref, limit)):
        tickets[tid] = Facts(tid, type_name or "", opened=_utc(first), modified=_utc(last))
    args: tuple[str, ...] = ()
    if fields is None:
        which = "field NOT IN ('opened', 'initial', 'note', 'approval', 'event', 'link')"
        initial_keys = ""
    else:
        which, args = f"field IN ({','.join('?' * len(fields))})", tuple(fields)
        initial_keys = f"AND j.key IN ({','.join('?' * len(fields))})"
    # Each field's last value: from its own rows, or from the "initial" row of the
    # commit that created the ticket (one JSON object of every first value), which
    # json_each spreads into the rows it stands for. One JSON object per ticket,
    # built by SQLite: far fewer rows for Python to touch.
    for tid, values in db.execute(
            "SELECT ticket, json_group_object(field, new) FROM ("
            "SELECT ticket, field, new, MAX(rid) FROM ("
            f"SELECT ticket, field, new, events.rowid AS rid FROM {rows} "
            f"WHERE ref=? AND time<=? AND {which} UNION ALL "
            f"SELECT ticket, j.key AS field, j.value AS new, events.rowid AS rid FROM {rows}, "
            f"json_each(events.new) AS j WHERE ref=? AND time<=? AND field='initial' "
            f"{initial_keys}"
            ") GROUP BY ticket, field) GROUP BY ticket",
            (ref, limit, *args, ref, limit, *args)):
        facts = tickets[tid]
        for name, value in json.loads(values).items():
            facts.values[name] = _value(name, value)
    # status changes in history order; a ticket's first status is on its "opened" row
    for tid, moment, status in db.execute(
            f"SELECT ticket, time, new FROM {rows} WHERE ref=? AND time<=? AND "
            "(field='status' OR (field='opened' AND new IS NOT NULL)) ORDER BY events.rowid",
            (ref, limit)):
        _enter(config, tickets[tid], status, _utc(moment))
    return tickets


_FOREVER = 2**62


def facts_as_of(db: sqlite3.Connection, ref: str, config: DeskConfig, as_of: datetime, *,
                fields: Collection[str] | None, stamp: str,
                since: datetime | None = None) -> dict[str, Facts]:
    """facts_at, the fast way: from the desk after its last event, kept in the index.

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
    limit = int(as_of.timestamp())
    sql = ("SELECT ticket, type, opened, modified, resolved, closed, reopened, category, "
           "vals FROM facts_latest WHERE ref=? AND fields=?")
    which = _fields_key(fields)
    params: tuple[Any, ...] = (ref, which)
    if since is not None:
        edge = int(since.timestamp())
        sql += " AND (category='open' OR opened>? OR resolved>? OR modified>?)"
        params += (edge, edge, limit)
    kept: dict[str, Facts] = {}
    changed = []
    db.execute("BEGIN IMMEDIATE")  # one consistent state, and one writer of the table
    try:
        _bring_up_to_date(db, ref, config, fields=fields, stamp=stamp)
        for tid, type_name, opened, modified, resolved, closed, reopened, category, vals \
                in db.execute(sql, params):
            if modified > limit:
                changed.append(tid)
                continue
            kept[tid] = Facts(tid, type_name, marshal.loads(vals), _utc(opened),
                              _utc(modified), _utc(resolved) if resolved is not None else None,
                              _utc(closed) if closed is not None else None, reopened, category)
        if changed:
            kept.update(facts_at(db, ref, config, as_of, fields=fields, only=changed))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return kept


def _fields_key(fields: Collection[str] | None) -> str:
    # marshal's format belongs to the Python version that wrote it
    return f"{marshal.version}|{','.join(fields) if fields is not None else '*'}"


def _bring_up_to_date(db: sqlite3.Connection, ref: str, config: DeskConfig, *,
                      fields: Collection[str] | None, stamp: str) -> None:
    """Make facts_latest hold the desk after its last event for this indexed state
    (`stamp`) and field list. It was made for an earlier state of the same
    config and the same generation of event rows: replay only the tickets with
    event rows added since. Otherwise: replay everything."""
    which = _fields_key(fields)
    meta_key = f"facts:{ref}|{which}"
    row = db.execute("SELECT value FROM meta WHERE key=?", (meta_key,)).fetchone()
    made_for, made_in, seen = row[0].split("\t") if row else ("", "-1", "0")
    generation = str(events.generation(db, ref))
    if made_for == stamp and made_in == generation:
        return
    newest = db.execute("SELECT MAX(rowid) FROM events").fetchone()[0] or 0
    same_config = made_for.partition(" ")[2] == stamp.partition(" ")[2]
    if row and same_config and made_in == generation:
        changed = [t for (t,) in db.execute("SELECT DISTINCT ticket FROM events "
                                            "WHERE rowid>? AND ref=?", (int(seen), ref))]
        facts = facts_at(db, ref, config, None, fields=fields, only=changed)
    else:
        db.execute("DELETE FROM facts_latest WHERE ref=? AND fields=?", (ref, which))
        facts = facts_at(db, ref, config, None, fields=fields)
    db.executemany(
        "INSERT OR REPLACE INTO facts_latest VALUES(?,?,?,?,?,?,?,?,?,?,?)",
        ((ref, which, f.id, f.type, _stamp(f.opened), _stamp(f.modified), _stamp(f.resolved),
          _stamp(f.closed), f.reopened, f.category, marshal.dumps(f.values))
         for f in facts.values()))
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
               (meta_key, f"{stamp}\t{generation}\t{newest}"))


def _stamp(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _utc(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def _enter(config: DeskConfig, facts: Facts, status: str | None, moment: datetime) -> None:
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
