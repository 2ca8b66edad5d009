"""The tables of the index (.git/gitdesk/index.sqlite), every one of them here.

All of it is derived from the history, so a file of another layout is not
migrated: its tables are dropped and built again. SCHEMA_VERSION names the
layout; change it with any change below.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = "6"

META = "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
# Current state: one row per ticket file of each ref, with the columns `list`
# filters on; `data` is the whole ticket as JSON, or `error` says why it is unusable.
TICKETS = """CREATE TABLE IF NOT EXISTS tickets(
    ref TEXT NOT NULL, path TEXT NOT NULL, blob TEXT NOT NULL,
    id TEXT, type TEXT, status TEXT, priority TEXT, assignee TEXT, grp TEXT, ci TEXT,
    category TEXT, summary TEXT, created TEXT, due TEXT, data TEXT, error TEXT,
    PRIMARY KEY(ref, path))"""
COLUMNS = ("id", "type", "status", "priority", "assignee", "grp", "ci", "category",
           "summary", "created", "due")
TICKET_INDEXES = (
    "CREATE INDEX IF NOT EXISTS tickets_status ON tickets(ref, type, status)",
    "CREATE INDEX IF NOT EXISTS tickets_id ON tickets(ref, id)",
)
# The facts of every ticket after the last event, per ref and field list (`fields`);
# `vals` is a marshal dump of the field values.
FACTS_LATEST = """CREATE TABLE IF NOT EXISTS facts_latest(
    ref TEXT NOT NULL, fields TEXT NOT NULL, ticket TEXT NOT NULL, type TEXT,
    opened INTEGER, modified INTEGER, resolved INTEGER, closed INTEGER, reopened INTEGER,
    category TEXT, vals BLOB NOT NULL, PRIMARY KEY(ref, fields, ticket)) WITHOUT ROWID"""
# One row per field change, numbered by commit (`seq`, oldest first).
EVENTS = """CREATE TABLE IF NOT EXISTS events(
    ref TEXT NOT NULL, seq INTEGER NOT NULL, commit_id TEXT NOT NULL, time INTEGER NOT NULL,
    author TEXT, email TEXT, action TEXT, ticket TEXT NOT NULL, type TEXT,
    field TEXT NOT NULL, old, new)"""
# By name: a build from scratch drops them first and makes them after the rows.
EVENT_INDEXES = {
    "events_ticket": "CREATE INDEX IF NOT EXISTS events_ticket ON events(ref, ticket, seq)",
    "events_field": "CREATE INDEX IF NOT EXISTS events_field ON events(ref, field, time)",
}
DERIVED = ("events", "tickets", "facts_latest")
RETIRED = ("facts_cache",)  # tables of earlier layouts that only need to go


def prepare(db: sqlite3.Connection) -> None:
    """Make the tables of this layout; an index of another layout is emptied first."""
    _create(db)
    row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    if row is None or row[0] != SCHEMA_VERSION:
        db.executescript("".join(f"DROP TABLE IF EXISTS {name}; " for name in DERIVED) +
                         "DELETE FROM meta;")
        _create(db)
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('schema', ?)",
                   (SCHEMA_VERSION,))


def _create(db: sqlite3.Connection) -> None:
    retired = [f"DROP TABLE IF EXISTS {name}" for name in RETIRED]
    statements = (META, TICKETS, *TICKET_INDEXES, *retired, FACTS_LATEST, EVENTS,
                  *EVENT_INDEXES.values())
    db.executescript("".join(f"{sql};\n" for sql in statements))


def create_event_indexes(db: sqlite3.Connection) -> None:
    for sql in EVENT_INDEXES.values():
        db.execute(sql)


def drop_event_indexes(db: sqlite3.Connection) -> None:
    for name in EVENT_INDEXES:
        db.execute(f"DROP INDEX IF EXISTS {name}")
