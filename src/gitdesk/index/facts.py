"""Ticket facts from the event rows, and the facts_latest table that keeps every
ticket as it is after the last event (DESIGN section 9, "Reports start from the
desk after its last event").

SQLite picks each field's last value (in history order) at or before a moment;
Python replays only the status changes (domain.facts.enter). facts_latest is
brought up to date when the index moves: only the tickets with new event rows
are replayed, unless the config or the generation of the event rows changed.
"""

from __future__ import annotations

import json
import marshal
import sqlite3
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from gitdesk.domain.config import DeskConfig
from gitdesk.domain.facts import Facts, enter
from gitdesk.index import events

# event values stored as JSON text (see events.text) that are read back as data
JSON_FIELDS = ("submitter", "window", "cis", "services", "escalation", "risk_answers")
_FOREVER = 2**62


def facts_at(db: sqlite3.Connection, ref: str, config: DeskConfig, as_of: datetime | None, *,
             fields: Collection[str] | None,
             only: Collection[str] | None = None) -> dict[str, Facts]:
    """Every ticket as it was at `as_of` (None: after the last event), from the
    event index, with the values of `fields` (None: every field); with `only`,
    just those tickets."""
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
        enter(config, tickets[tid], status, _utc(moment))
    return tickets


def _value(field_name: str, text: Any) -> Any:
    if text is None or not isinstance(text, str):
        return text
    if field_name in JSON_FIELDS or text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def bring_up_to_date(db: sqlite3.Connection, ref: str, config: DeskConfig, *,
                     fields: Collection[str] | None, stamp: str) -> None:
    """Make facts_latest hold the desk after its last event for this indexed state
    (`stamp`: tip commit and config blob) and field list. It was made for an
    earlier state of the same config and the same generation of event rows:
    replay only the tickets with event rows added since. Otherwise: replay
    everything. Call it inside a write transaction (BEGIN IMMEDIATE)."""
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


def latest(db: sqlite3.Connection, ref: str, as_of: datetime, *,
           fields: Collection[str] | None, where: str = "", params: tuple[Any, ...] = ()
           ) -> tuple[dict[str, Facts], list[str]]:
    """From facts_latest (see bring_up_to_date): the tickets with no event after
    `as_of`, which were then as they are now, and the ids of the others. `where`
    narrows the rows down (SQL over the table's columns, with `params`)."""
    limit = int(as_of.timestamp())
    sql = ("SELECT ticket, type, opened, modified, resolved, closed, reopened, category, "
           "vals FROM facts_latest WHERE ref=? AND fields=?" + (f" AND ({where})" if where else ""))
    kept: dict[str, Facts] = {}
    changed = []
    for tid, type_name, opened, modified, resolved, closed, reopened, category, vals \
            in db.execute(sql, (ref, _fields_key(fields), *params)):
        if modified > limit:
            changed.append(tid)
            continue
        kept[tid] = Facts(tid, type_name, marshal.loads(vals), _utc(opened),
                          _utc(modified), _utc(resolved) if resolved is not None else None,
                          _utc(closed) if closed is not None else None, reopened, category)
    return kept, changed


def forget(db: sqlite3.Connection, ref: str) -> None:
    """Drop what facts_latest keeps for `ref` (the index of `ref` is rebuilt)."""
    db.execute("DELETE FROM facts_latest WHERE ref=?", (ref,))
    db.execute("DELETE FROM meta WHERE substr(key, 1, ?) = ?", (len(ref) + 7, f"facts:{ref}|"))


def _fields_key(fields: Collection[str] | None) -> str:
    # marshal's format belongs to the Python version that wrote it
    return f"{marshal.version}|{','.join(fields) if fields is not None else '*'}"


def _stamp(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _utc(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)
