"""The derived SQLite index of current ticket state, under .git/gitdesk/.

It records the commit it was built from; every read brings it up to date by
comparing that commit's tree with the tip's, directory by directory (the
shards make this cheap), and parses only the changed blobs. It is disposable:
deleting it loses nothing, `gitdesk reindex` rebuilds it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from gitdesk import gitio
from gitdesk.domain.config import CONFIG_PATH
from gitdesk.errors import GitdeskError
from gitdesk.index import events, facts, schema
from gitdesk.index.events import Latest
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Desk
from gitdesk.verify.files import check_file
from gitdesk.yaml import roundtrip as yamlio
from gitdesk.yaml.ticket import parse_blob


@dataclass(frozen=True)
class Row:
    path: str
    data: dict[str, Any] | None
    error: str | None


class Index:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        path = desk.repo.state_dir / "index.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        schema.prepare(self.db)

    def close(self) -> None:
        self.db.close()

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    def refresh(self, snap: Snapshot | None = None, known: Latest | None = None
                ) -> Snapshot:
        """Bring the index up to the branch tip; returns the snapshot it reflects.
        `known` holds ticket versions already parsed, by path (blob id, data)."""
        snap = snap or self.desk.snapshot()
        key = f"ref:{self.desk.ref}"
        state = f"{snap.oid or ''} {snap.blob_oid(CONFIG_PATH) or ''}"
        if self._meta(key) == state:
            return snap
        self.db.execute("BEGIN IMMEDIATE")
        try:
            built = (self._meta(key) or " ").split(" ")
            if built != state.split(" "):
                # validity depends on the config: a new config means a full rebuild
                old_tree = self._tree_of(built[0]) if built[1:] == state.split(" ")[1:] \
                    else None
                if old_tree is None:
                    self.db.execute("DELETE FROM tickets WHERE ref=?", (self.desk.ref,))
                self._apply(snap, _diff(snap.repo, old_tree, snap.tree, "tickets"), known)
                self._set_meta(key, state)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return snap

    def refresh_events(self, snap: Snapshot | None = None) -> tuple[Snapshot, events.Progress]:
        """Bring the event rows up to the tip (walking only the new commits)."""
        snap = snap or self.desk.snapshot()
        key = f"events:{self.desk.ref}"
        if self._meta(key) == (snap.oid or ""):
            return self.refresh(snap), events.Progress()
        # Built from scratch, both halves read every ticket's last version: the
        # events first, and the tickets table reuses what they parsed.
        latest: Latest | None = {} if self._meta(f"ref:{self.desk.ref}") is None \
            else None
        if latest is None:
            self.refresh(snap)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            last, progress = events.update(self.db, self.desk, snap.commit, self._meta(key),
                                           latest)
            self._set_meta(key, last)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        if latest is not None:
            self.refresh(snap, latest)
        return snap, progress

    def rebuild(self) -> tuple[Snapshot, events.Progress]:
        ref = self.desk.ref
        self.db.execute("DELETE FROM tickets WHERE ref=?", (ref,))
        facts.forget(self.db, ref)
        self.db.execute("DELETE FROM meta WHERE key IN (?, ?)", (f"ref:{ref}", f"events:{ref}"))
        return self.refresh_events()

    def _tree_of(self, oid: str | None) -> gitio.Tree | None:
        commit = gitio.commit_at(self.desk.repo, oid) if oid else None
        return commit.tree if commit is not None else None

    def _apply(self, snap: Snapshot, changes: Iterator[tuple[str, str | None]],
               known: Latest | None) -> None:
        ref = self.desk.ref
        for path, oid in changes:
            if oid is None:
                self.db.execute("DELETE FROM tickets WHERE ref=? AND path=?", (ref, path))
                continue
            seen = known.get(path) if known else None
            row = _parse(snap, path, oid) if seen is None or seen[0] != oid or seen[1] is None \
                else _checked(snap, path, seen[1])
            data = row.data or {}
            self.db.execute(
                "INSERT OR REPLACE INTO tickets VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (ref, path, oid, data.get("id"), data.get("type"), data.get("status"),
                 data.get("priority"), data.get("assignee"), data.get("group"),
                 data.get("ci"), data.get("category"), data.get("summary"),
                 data.get("created"), data.get("due"),
                 json.dumps(data, ensure_ascii=False) if row.data is not None else None,
                 row.error))

    def rows(self, where: str = "", params: tuple[Any, ...] = (), *,
             scoped: bool = False) -> list[Row]:
        """Ticket rows of this ref; with scoped=True, `where` names the ref itself."""
        if scoped:
            sql, args = f"SELECT path, data, error FROM tickets WHERE {where}", params
        else:
            sql = "SELECT path, data, error FROM tickets WHERE ref=?" + \
                (f" AND ({where})" if where else "")
            args = (self.desk.ref, *params)
        return [Row(path, json.loads(data) if data else None, error)
                for path, data, error in self.db.execute(sql, args)]


def _parse(snap: Snapshot, path: str, oid: str) -> Row:
    raw = gitio.blob_data(snap.repo, oid)
    data = parse_blob(raw, path)
    if data is None:
        try:
            yamlio.load(raw, path)
        except GitdeskError as exc:
            return Row(path, None, str(exc))
        return Row(path, None, f"{path}: not a YAML mapping")
    return _checked(snap, path, data)


def _checked(snap: Snapshot, path: str, data: dict[str, Any]) -> Row:
    problems = check_file(snap.config, path, data)
    if problems:
        return Row(path, None, "; ".join(str(p) for p in problems))
    return Row(path, data, None)


def _diff(repo: gitio.Repo, old: gitio.Tree | None, new: gitio.Tree | None,
          prefix: str) -> Iterator[tuple[str, str | None]]:
    """Changed .yaml blobs below prefix, comparing tree ids level by level."""
    before = gitio.subtree(repo, old, prefix)
    after = gitio.subtree(repo, new, prefix)
    for path, _old, new_oid in gitio.changed_blobs(repo, before, after, prefix):
        if path.endswith(".yaml"):
            yield path, new_oid


@contextlib.contextmanager
def opened(desk: Desk) -> Iterator[Index]:
    index = Index(desk)
    try:
        yield index
    finally:
        index.close()


T = TypeVar("T")
_DAMAGED = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


def damaged(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file is broken (not merely busy or locked)."""
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc).lower()
    return code in _DAMAGED or "malformed" in text or "not a database" in text


def using(desk: Desk, work: Callable[[Index], T]) -> T:
    """Run work on the index. The index is disposable: a damaged file (truncated,
    garbage, a bad header or write-ahead log) is moved aside and built again from
    the history, with one warning, and work runs once more."""
    try:
        with opened(desk) as index:
            return work(index)
    except sqlite3.DatabaseError as exc:
        if not damaged(exc):
            raise
        aside = _move_aside(desk)
        print(f"gitdesk: warning: the index was damaged ({exc}); moved it to {aside} "
              "and built it again from the history", file=sys.stderr)
    with opened(desk) as index:
        return work(index)


def _move_aside(desk: Desk) -> str:
    path = desk.repo.state_dir / "index.sqlite"
    aside = path.with_name(f"index.sqlite.damaged-{os.getpid()}-{int(time.time())}")
    if path.exists():
        path.replace(aside)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.replace(aside.with_name(aside.name + suffix))
    return aside.name


def current_rows(desk: Desk, *, rev: str | None = None, where: str = "",
                 params: tuple[Any, ...] = (), scoped: bool = False
                 ) -> tuple[Snapshot, list[Row]]:
    """All ticket rows at the tip (via the index) or at a revision (read directly)."""
    if rev is not None:
        snap = desk.snapshot(rev)
        rows = [_parse(snap, path, oid) for path, oid in snap.ticket_paths()]
        return snap, rows
    def read(index: Index) -> tuple[Snapshot, list[Row]]:
        snap = index.refresh()
        return snap, index.rows(where, params, scoped=scoped)

    try:
        return using(desk, read)
    except sqlite3.Error as exc:
        print(f"gitdesk: warning: index unusable ({exc}); reading the tree", file=sys.stderr)
        snap = desk.snapshot()
        return snap, [_parse(snap, path, oid) for path, oid in snap.ticket_paths()]
