"""Reports "as of now" are kept per indexed state and never go stale."""

from __future__ import annotations

import json
import sqlite3

from conftest import Gitdesk


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


def test_a_past_moment_is_not_cached(desk: Gitdesk) -> None:
    desk.ok("open", "incident", "-s", "Old", env={"GIT_AUTHOR_DATE": "2026-01-01T10:00:00Z",
                                                 "GIT_COMMITTER_DATE": "2026-01-01T10:00:00Z"})
    desk.open("incident", "-s", "New")
    data = json.loads(desk.ok("report", "summary", "--as-of", "2026-06-01", "--format", "json"))
    assert data["sections"][0]["rows"][-1]["total"] == 1
    assert _cached(desk) == 0
