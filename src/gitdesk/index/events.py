"""The event half of the index: one row per field change, read from git history.

Commits are walked from the last one indexed to the branch tip (oldest
first); each changed ticket blob is compared with the version before it. A
merge contributes only what differs from every parent (the rest was indexed
with the commits it merged). If the last indexed commit is no longer an
ancestor of the tip (a force-push, a rebase), the events are rebuilt.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

from gitdesk import gitio
from gitdesk.domain import diff
from gitdesk.index import schema
from gitdesk.store.write import Desk
from gitdesk.yaml import reader as fastyaml
from gitdesk.yaml.ticket import parse_blob

# The last version parsed of each path, (blob id, data): a cold build of the
# tickets table reuses them instead of reading and parsing every file again.
Latest: TypeAlias = dict[str, tuple[str, dict[str, Any] | None]]
_CACHE_SIZE = 50_000


def text(value: Any) -> str | int | float | None:
    """A value as stored in the events table: numbers stay numbers (SQLite keeps
    their type), lists and mappings are JSON, everything else text."""
    kind = type(value)
    if kind is str or value is None:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


# the rows of entries and links: one per entry appended or link added or removed
_LABELS = {"notes": "note", "approvals": "approval", "events": "event", diff.LINKS: "link"}
_KEYS = {label: key for key, label in _LABELS.items()}


def field_changes(old: dict[str, Any] | None, new: dict[str, Any], *,
                  one_row: bool = True) -> list[tuple[str, Any, Any]]:
    """(field, old, new) rows for one ticket version against the one before it: the
    changes domain.diff finds, with an appended entry as "note", "approval" or
    "event" (described by `_entry`) and a link added or removed as "link".

    A new ticket gives an "opened" row (its first status) and its first values,
    without its entries and links: with `one_row`, as one "initial" row whose value
    is a mapping of each field to what its own row would hold (reports read it with
    SQLite's json_each); else one row per field."""
    if old is None:
        first: list[tuple[str, Any, Any]] = [("opened", None, new.get("status"))]
        values = diff.values(new)
        if not one_row:
            return first + [(key, None, value) for key, value in values]
        if values:
            first.append(("initial", None, {key: text(value) for key, value in values}))
        return first
    changes = diff.diff(old, new)
    # entries and links come last (domain.diff): only their rows are relabelled
    i = len(changes)
    while i and (label := _LABELS.get(changes[i - 1][0])) is not None:
        i -= 1
        key, before, after = changes[i]
        changes[i] = (label, before, after) if key == diff.LINKS else \
            (label, None, _entry(key, after))
    return changes


def _entry(key: str, item: dict[str, Any]) -> Any:
    """A note, approval or escalation event as its row shows it."""
    if key == "notes":
        return item.get("text")
    return f"{item.get('by')} {item.get('decision') or item.get('kind')}"


def merge_changes(changes: list[tuple[str, Any, Any]], new: dict[str, Any],
                  others: list[dict[str, Any]]) -> list[tuple[str, Any, Any]]:
    """Of a merge's changes against its first parent, those no other parent had:
    what the other parents brought was indexed with the commits that made it."""
    kept = []
    for field, before, after in changes:
        if field == "opened":
            if others:
                continue
        elif field in _KEYS:
            if after is not None and any(_has(o, field, after) for o in others):
                continue
        elif any(diff.value(o, field) == diff.value(new, field) for o in others):
            continue
        kept.append((field, before, after))
    return kept


def _has(data: dict[str, Any], label: str, detail: Any) -> bool:
    """Whether a parent already holds the note, approval, event or link `detail`."""
    key = _KEYS[label]
    if key == diff.LINKS:
        return detail in {diff.link_text(x.get("rel"), x.get("id"))
                          for x in data.get(key) or []}
    return any(_entry(key, item) == detail for item in data.get(key) or [])


class _Blobs:
    """Parsed ticket versions by blob id (each version is parsed once)."""

    def __init__(self, repo: gitio.Repo, latest: Latest | None = None) -> None:
        self.repo = repo
        self.cache: OrderedDict[str, dict[str, Any] | None] = OrderedDict()
        self.memo = fastyaml.Memo()
        self.latest = latest

    def get(self, oid: str | None, path: str) -> dict[str, Any] | None:
        if oid is None:
            return None
        if oid in self.cache:
            self.cache.move_to_end(oid)
            return self.cache[oid]
        data = parse_blob(gitio.blob_data(self.repo, oid), path, self.memo)
        self.cache[oid] = data
        if self.latest is not None:
            self.latest[path] = (oid, data)
        if len(self.cache) > _CACHE_SIZE:
            self.cache.popitem(last=False)
        return data


@dataclass
class Progress:
    commits: int = 0
    events: int = 0


def update(db: sqlite3.Connection, desk: Desk, tip: gitio.Commit | None,
           last: str | None, latest: Latest | None = None) -> tuple[str, Progress]:
    """Index the commits after `last` up to `tip`; returns the new `last`. Fills
    `latest` (if given) with the last version parsed of each path."""
    repo, ref = desk.repo, desk.ref
    progress = Progress()
    if tip is None:
        _forget(db, ref)
        return "", progress
    if last and not gitio.descends_from(repo, str(tip.id), last):
        last = None  # history was rewritten
    if not last:
        # a build from scratch: one sort per index at the end is about twice as
        # fast as keeping them up to date row by row (and so is the delete)
        schema.drop_event_indexes(db)
        _forget(db, ref)
    row = db.execute("SELECT MAX(seq) FROM events WHERE ref=?", (ref,)).fetchone()
    progress = _walk(db, repo, ref, f"{last}..{tip.id}" if last else str(tip.id),
                    (row[0] or 0) if last else 0, latest)
    schema.create_event_indexes(db)
    return str(tip.id), progress


def _walk(db: sqlite3.Connection, repo: gitio.Repo, ref: str, revisions: str, seq: int,
         latest: Latest | None = None) -> Progress:
    """Insert the events of `revisions`, oldest first, numbering commits after `seq`."""
    progress = Progress()
    blobs = _Blobs(repo, latest)
    batch: list[tuple[Any, ...]] = []
    for entry in log(repo, revisions):
        seq += 1
        progress.commits += 1
        if len(entry.parents) > 1:
            commit = gitio.get_commit(repo, entry.commit)
            batch += _commit_events(repo, blobs, ref, seq, commit)
        else:
            batch += _raw_events(blobs, ref, seq, entry)
        if len(batch) > 5000:
            db.executemany("INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", batch)
            progress.events += len(batch)
            batch = []
    db.executemany("INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", batch)
    progress.events += len(batch)
    return progress


def generation(db: sqlite3.Connection, ref: str) -> int:
    """How many times the events of `ref` were dropped and rebuilt: what was
    derived from them at another generation cannot be brought up to date by
    looking at newer rows only."""
    row = db.execute("SELECT value FROM meta WHERE key=?", (f"generation:{ref}",)).fetchone()
    return int(row[0]) if row else 0


def _forget(db: sqlite3.Connection, ref: str) -> None:
    if db.execute("SELECT 1 FROM events WHERE ref!=? LIMIT 1", (ref,)).fetchone() is None:
        db.execute("DELETE FROM events")  # the only ref: SQLite drops the table's pages at once
    else:
        db.execute("DELETE FROM events WHERE ref=?", (ref,))
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
               (f"generation:{ref}", str(generation(db, ref) + 1)))


@dataclass(frozen=True)
class LogEntry:
    """One commit of `git log --raw`: who, when, and the ticket blobs it changed."""

    commit: str
    parents: tuple[str, ...]
    time: int
    author: str
    email: str
    action: str
    changes: tuple[tuple[str, str | None, str | None], ...]  # (path, old blob, new blob)


_LOG_FORMAT = ("%x01%H%x02%P%x02%at%x02%an%x02%ae%x02"
               "%(trailers:key=Gitdesk-Action,valueonly,separator=)")
_ZERO = "0" * 40


def log(repo: gitio.Repo, revisions: str) -> Iterator[LogEntry]:
    """Commits oldest first with their changed files, from one `git log --raw`: the
    history walk is git's hot loop, not Python's (DESIGN section 3)."""
    for record in gitio.stream_git(
            repo, ["log", "--reverse", "--topo-order", "--no-renames", "--raw", "-z",
                   "--no-abbrev", f"--format={_LOG_FORMAT}", revisions], b"\x01"):
        header, _, raw = record.partition(b"\0")
        commit, parents, at, author, email, action = \
            header.decode("utf-8", "replace").split("\x02")
        fields = raw.lstrip(b"\n").split(b"\0")
        changes = []
        for i in range(0, len(fields) - 1, 2):
            meta, path = fields[i].decode(), fields[i + 1].decode("utf-8", "replace")
            if not meta.startswith(":") or not path.startswith("tickets/"):
                continue
            _old_mode, _new_mode, old, new, _status = meta[1:].split(" ")
            changes.append((path, None if old == _ZERO else old, None if new == _ZERO else new))
        yield LogEntry(commit, tuple(parents.split()), int(at), author, email,
                       action.strip(), tuple(changes))


def _raw_events(blobs: _Blobs, ref: str, seq: int, entry: LogEntry) -> list[tuple[Any, ...]]:
    rows = []
    for path, old_oid, new_oid in entry.changes:
        if not path.endswith(".yaml") or new_oid is None:
            continue
        new = blobs.get(new_oid, path)
        if new is None:
            continue
        ticket = str(new.get("id") or path.rsplit("/", 1)[-1].removesuffix(".yaml"))
        for field, before, after in field_changes(blobs.get(old_oid, path), new):
            rows.append((ref, seq, entry.commit, entry.time, entry.author, entry.email,
                         entry.action or "edit", ticket, new.get("type"), field, text(before),
                         text(after)))
    return rows


def _commit_events(repo: gitio.Repo, blobs: _Blobs, ref: str, seq: int,
                   commit: gitio.Commit) -> list[tuple[Any, ...]]:
    parents = list(commit.parents)
    base = parents[0].tree if parents else None
    old_tickets = _tickets_tree(repo, base)
    new_tickets = _tickets_tree(repo, commit.tree)
    others = [_tickets_tree(repo, p.tree) for p in parents[1:]]
    action = _trailer(commit.message, "Gitdesk-Action") or ("merge" if others else "edit")
    rows = []
    for path, old_oid, new_oid in gitio.changed_blobs(repo, old_tickets, new_tickets, "tickets"):
        if not path.endswith(".yaml") or new_oid is None:
            continue
        if any(_blob_at(repo, o, path[len("tickets/"):]) == new_oid for o in others):
            continue  # merged unchanged: indexed with the commit that made it
        new = blobs.get(new_oid, path)
        if new is None:
            continue
        old = blobs.get(old_oid, path)
        ticket = str(new.get("id") or path.rsplit("/", 1)[-1].removesuffix(".yaml"))
        changes = field_changes(old, new, one_row=False)  # merges compare field by field
        if others:
            theirs = [blobs.get(_blob_at(repo, o, path[len("tickets/"):]), path) for o in others]
            changes = merge_changes(changes, new, [t for t in theirs if t is not None])
        for field, before, after in changes:
            rows.append((ref, seq, str(commit.id), commit.author.time, commit.author.name,
                         commit.author.email, action, ticket, new.get("type"), field,
                         text(before), text(after)))
    return rows


def _blob_at(repo: gitio.Repo, tree: gitio.Tree | None, path: str) -> str | None:
    obj = gitio.entry(repo, tree, path)
    return str(obj.id) if obj is not None else None


def _tickets_tree(repo: gitio.Repo, tree: gitio.Tree | None) -> gitio.Tree | None:
    return gitio.subtree(repo, tree, "tickets")


def _trailer(message: str, key: str) -> str | None:
    for line in reversed(message.splitlines()):
        if line.startswith(f"{key}: "):
            return line[len(key) + 2:].strip()
    return None
