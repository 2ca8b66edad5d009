"""Reports "as of now" are kept per indexed state and never go stale."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from conftest import Gitdesk
from gitdesk.config import CONFIG_PATH
from gitdesk.index import opened
from gitdesk.reports.facts import REPORT_FIELDS, Facts, facts_as_of, facts_at
from gitdesk.store import Desk, Snapshot


def _summary(desk: Gitdesk) -> dict[str, int]:
    data = json.loads(desk.ok("report", "summary", "--format", "json"))
    rows = data["sections"][0]["rows"]
    return {row["type"]: row["open"] for row in rows}


def _cached(desk: Gitdesk) -> int:
    with sqlite3.connect(desk.path / ".git" / "gitdesk" / "index.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM facts_cache").fetchone()[0])


def test_report_as_of_now_is_cached_and_follows_new_commits(desk: Gitdesk) -> None:
    first = desk.open("incident", "-s", "Mail delayed")
    desk.open("incident", "-s", "Printer jammed")
    assert _summary(desk) == {"incident": 2, "all": 2}
    assert _cached(desk) == 1
    assert _summary(desk) == {"incident": 2, "all": 2}  # read back from the cache
    assert _cached(desk) == 1
    desk.ok("resolve", first, "--code", "fixed", "-m", "Queue flushed")
    assert _summary(desk) == {"incident": 1, "all": 1}  # a new commit: recomputed
    assert _cached(desk) == 1  # the stale entry is gone


def test_a_past_moment_reads_the_cache_and_replays_what_changed_since(desk: Gitdesk) -> None:
    desk.ok("open", "incident", "-s", "Old", env=at("2026-01-01T10:00:00Z"))
    desk.open("incident", "-s", "New")
    data = json.loads(desk.ok("report", "summary", "--as-of", "2026-06-01", "--format", "json"))
    assert data["sections"][0]["rows"][-1]["total"] == 1
    assert _cached(desk) == 1  # the desk after its last event, which the moment starts from


def at(when: str) -> dict[str, str]:
    return {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}


def test_facts_from_the_cache_equal_a_full_replay_at_every_moment(desk: Gitdesk) -> None:
    """facts_as_of (the latest facts, with only the tickets changed since replayed)
    gives exactly what replaying the whole history up to the moment gives: at,
    just before and just after every event, with reopens, priority changes, a
    back-dated commit and tickets opened later."""
    a = desk.ok("open", "incident", "-s", "Mail delayed",
                env=at("2026-03-01T09:00:00Z")).strip()
    b = desk.ok("open", "incident", "-s", "VPN drops", "--impact", "high", "--urgency", "high",
                env=at("2026-03-02T09:00:00Z")).strip()
    desk.ok("resolve", a, "--code", "fixed", "-m", "Queue flushed", env=at("2026-03-03T09:00:00Z"))
    desk.ok("transition", a, "in-progress", "-m", "Back again", env=at("2026-03-04T09:00:00Z"))
    desk.ok("set", b, "urgency=low", env=at("2026-03-05T09:00:00Z"))
    desk.ok("resolve", a, "--code", "fixed", "-m", "Really", env=at("2026-03-06T09:00:00Z"))
    desk.ok("close", a, env=at("2026-03-07T09:00:00Z"))
    c = desk.ok("open", "problem", "-s", "Mail queue", env=at("2026-03-08T09:00:00Z")).strip()
    desk.ok("note", b, "-m", "back-dated", env=at("2026-03-02T12:00:00Z"))
    desk.ok("assign", c, "test", env=at("2026-03-09T09:00:00Z"))

    with opened(Desk.open(str(desk.path))) as index:
        snap, _progress = index.refresh_events()
        stamp = f"{snap.oid} {snap.blob_oid(CONFIG_PATH)}"
        times = sorted({t for (t,) in index.db.execute("SELECT time FROM events")})
        moments = sorted({m + d for m in times for d in (-1, 0, 1)})
        assert len(times) >= 9
        for moment in moments:
            when = datetime.fromtimestamp(moment, UTC)
            fast = facts_as_of(index.db, desk_ref(snap), snap.config, when,
                               fields=REPORT_FIELDS, stamp=stamp)
            full = facts_at(index.db, desk_ref(snap), snap.config, when)
            assert _plain(fast, when) == _plain(full, when), when
        assert _cached(desk) == 1


def desk_ref(snap: Snapshot) -> str:
    return "refs/heads/main"


def _plain(facts: dict[str, Facts], when: datetime) -> dict[str, Any]:
    return {tid: (f.record(when), f.reopened, f.category) for tid, f in facts.items()}
