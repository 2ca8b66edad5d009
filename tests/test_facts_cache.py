"""Reports "as of now" are kept per indexed state and never go stale."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import pytest

from gitdesk.domain.config import CONFIG_PATH
from gitdesk.domain.facts import Facts
from gitdesk.index import events as events_module
from gitdesk.index import facts as facts_module
from gitdesk.index.facts import facts_at
from gitdesk.index.tickets import opened
from gitdesk.reports import compute
from gitdesk.reports.facts import REPORT_FIELDS, facts_as_of
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Desk
from support.cli import Gitdesk
from support.git import at


def _summary(desk: Gitdesk) -> dict[str, int]:
    data = json.loads(desk.ok("report", "summary", "--format", "json"))
    rows = data["sections"][0]["rows"]
    return {row["type"]: row["open"] for row in rows}


def _cached(desk: Gitdesk) -> int:
    """Tickets kept in facts_latest (the desk after its last event)."""
    with closing(sqlite3.connect(desk.path / ".git" / "gitdesk" / "index.sqlite")) as db:
        return int(db.execute("SELECT COUNT(*) FROM facts_latest").fetchone()[0])


def test_report_as_of_now_is_kept_and_follows_new_commits(
        desk: Gitdesk, monkeypatch: pytest.MonkeyPatch) -> None:
    first = desk.open("incident", "-s", "Mail delayed")
    desk.open("incident", "-s", "Printer jammed")
    replayed = _count_replays(monkeypatch)
    assert _summary(desk) == {"incident": 2, "all": 2}
    assert _cached(desk) == 2
    assert replayed == [None]  # the first report replays every ticket
    assert _summary(desk) == {"incident": 2, "all": 2}  # read back
    assert replayed == [None]
    desk.ok("resolve", first, "--code", "fixed", "-m", "Queue flushed")
    assert _summary(desk) == {"incident": 1, "all": 1}  # a new commit: brought up to date
    assert replayed == [None, [first]]  # only the ticket that changed
    assert _cached(desk) == 2
    third = desk.open("problem", "-s", "Mail queue")
    assert _summary(desk) == {"incident": 1, "problem": 1, "all": 2}
    assert replayed[-1] == [third]
    desk.ok("reindex")  # a new generation of event rows: everything again
    assert _summary(desk) == {"incident": 1, "problem": 1, "all": 2}
    assert replayed[-1] is None
    assert _cached(desk) == 3


def _count_replays(monkeypatch: pytest.MonkeyPatch) -> list[list[str] | None]:
    """Which tickets each refresh of facts_latest replays (None: all of them)."""
    calls: list[list[str] | None] = []
    real = facts_module.facts_at

    def spy(db: sqlite3.Connection, ref: str, config: Any, as_of: datetime | None,
            **kw: Any) -> dict[str, Facts]:
        if as_of is None:
            only = kw.get("only")
            calls.append(None if only is None else sorted(only))
        return real(db, ref, config, as_of, **kw)

    monkeypatch.setattr(facts_module, "facts_at", spy)
    return calls


def test_a_past_moment_reads_the_cache_and_replays_what_changed_since(desk: Gitdesk) -> None:
    desk.ok("open", "incident", "-s", "Old", env=at("2026-01-01T10:00:00Z"))
    desk.open("incident", "-s", "New")
    data = json.loads(desk.ok("report", "summary", "--as-of", "2026-06-01", "--format", "json"))
    assert data["sections"][0]["rows"][-1]["total"] == 1
    assert _cached(desk) == 2  # the desk after its last event, which the moment starts from


def test_facts_from_the_cache_equal_a_full_replay_at_every_moment(desk: Gitdesk) -> None:
    """facts_as_of (the latest facts, with only the tickets changed since replayed)
    gives exactly what replaying the whole history up to the moment gives: at,
    just before and just after every event, with reopens, priority changes, a
    back-dated commit and tickets opened later; with the latest facts brought up
    to date commit by commit."""
    a = desk.ok("open", "incident", "-s", "Mail delayed",
                env=at("2026-03-01T09:00:00Z")).strip()
    b = desk.ok("open", "incident", "-s", "VPN drops", "--impact", "high", "--urgency", "high",
                env=at("2026-03-02T09:00:00Z")).strip()
    desk.ok("resolve", a, "--code", "fixed", "-m", "Queue flushed", env=at("2026-03-03T09:00:00Z"))
    desk.ok("report", "summary")  # facts_latest kept up to date commit by commit
    desk.ok("transition", a, "in-progress", "-m", "Back again", env=at("2026-03-04T09:00:00Z"))
    desk.ok("report", "summary")  # facts_latest kept up to date commit by commit
    desk.ok("set", b, "urgency=low", env=at("2026-03-05T09:00:00Z"))
    desk.ok("report", "summary")  # facts_latest kept up to date commit by commit
    desk.ok("resolve", a, "--code", "fixed", "-m", "Really", env=at("2026-03-06T09:00:00Z"))
    desk.ok("report", "summary")  # facts_latest kept up to date commit by commit
    desk.ok("close", a, env=at("2026-03-07T09:00:00Z"))
    desk.ok("report", "summary")  # facts_latest kept up to date commit by commit
    c = desk.ok("open", "problem", "-s", "Mail queue", env=at("2026-03-08T09:00:00Z")).strip()
    desk.ok("note", b, "-m", "back-dated", env=at("2026-03-02T12:00:00Z"))
    desk.ok("report", "summary")  # facts_latest kept up to date commit by commit
    desk.ok("assign", c, "test", env=at("2026-03-09T09:00:00Z"))
    desk.ok("report", "summary")  # facts_latest kept up to date commit by commit

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
            full = facts_at(index.db, desk_ref(snap), snap.config, when, fields=REPORT_FIELDS)
            assert _plain(fast, when) == _plain(full, when), when
        assert _cached(desk) == 3


def desk_ref(snap: Snapshot) -> str:
    return "refs/heads/main"


def _plain(facts: dict[str, Facts], when: datetime) -> dict[str, Any]:
    return {tid: (f.record(when), f.reopened, f.category) for tid, f in facts.items()}


def test_weekly_from_the_tickets_that_matter_equals_weekly_from_all(desk: Gitdesk) -> None:
    """The weekly report reads only tickets open at the week's end or opened or
    resolved in the week (facts_as_of with `since`); its numbers must be those
    computed from every ticket."""
    day = "2026-03-{:02d}T09:00:00Z".format
    ids = []
    for n in range(1, 29, 3):
        ids.append(desk.ok("open", "incident", "-s", f"Incident {n}", "--impact", "high",
                           "--urgency", "high" if n % 2 else "low", env=at(day(n))).strip())
    for n, tid in enumerate(ids):
        if n % 3 == 0:
            desk.ok("resolve", tid, "--code", "fixed", "-m", "done", env=at(day(3 * n + 3)))
        if n % 3 == 1:
            desk.ok("resolve", tid, "--code", "fixed", "-m", "done", env=at(day(3 * n + 5)))
            desk.ok("close", tid, env=at(day(3 * n + 6)))
    desk.ok("transition", ids[0], "in-progress", "-m", "again", env=at(day(20)))
    desk.ok("cancel", ids[2], "-m", "duplicate", env=at(day(12)))
    with opened(Desk.open(str(desk.path))) as index:
        snap, _progress = index.refresh_events()

        def everything(when: datetime, since: datetime | None = None) -> dict[str, Facts]:
            return facts_at(index.db, "refs/heads/main", snap.config, when, fields=REPORT_FIELDS)

        for as_of in ("2026-03-05", "2026-03-12", "2026-03-19", "2026-03-26", "2026-04-02"):
            moment = datetime.fromisoformat(f"{as_of}T23:59:59+00:00")
            expected = compute.weekly(snap.config, everything, moment)
            got = json.loads(desk.ok("report", "weekly", "--as-of", as_of, "--format", "json"))
            assert [s["rows"] for s in got["sections"]] == \
                [section.records() for section in expected.sections], as_of
            backlog = expected.sections[0].rows[2]
            assert backlog[0] == "backlog (open)"
    assert any(row[1] for row in expected.sections[0].rows[:3])


def test_one_initial_row_reads_as_one_row_per_first_value(
        desk: Gitdesk, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new ticket's first values are one "initial" row (JSON) instead of one row
    per field; reports must read exactly what the per-field rows gave, also for a
    ticket deleted by hand and created again with other values, and with custom
    fields, mappings, lists and booleans among the first values."""
    a = desk.ok("open", "incident", "-s", "[not a list] Mail", "--ci", "mail01",
                env=at("2026-04-01T09:00:00Z")).strip()
    b = desk.ok("open", "change", "-s", "Patch db01", "--change-type", "normal",
                env=at("2026-04-02T09:00:00Z")).strip()
    desk.ok("set", a, "urgency=high", env=at("2026-04-03T09:00:00Z"))
    path = desk.git("ls-files", f"tickets/*/*/{a}.yaml").strip()
    text = (desk.path / path).read_text(encoding="utf-8")
    desk.git("rm", "-q", path)
    desk.git("commit", "-q", "--no-verify", "-m", "drop by hand")
    (desk.path / path).parent.mkdir(parents=True, exist_ok=True)
    (desk.path / path).write_text(text.replace("ci: mail01\n", "").replace(
        "urgency: high", "urgency: low"), encoding="utf-8")
    desk.git("add", path)
    desk.git("commit", "-q", "--no-verify", "-m", "back by hand")
    desk.ok("resolve", a, "--code", "fixed", "-m", "done", env=at("2026-04-05T09:00:00Z"))

    real = events_module.field_changes

    def facts(one_row: bool) -> list[dict[str, Any]]:
        monkeypatch.setattr(events_module, "field_changes",
                            lambda old, new, **kw: real(old, new, one_row=one_row))
        out = []
        with opened(Desk.open(str(desk.path))) as index:
            index.rebuild()
            initial = index.db.execute("SELECT COUNT(*) FROM events WHERE field='initial'")
            assert (initial.fetchone()[0] > 0) == one_row
            for day in ("2026-04-01", "2026-04-02", "2026-04-04", "2026-12-31"):
                when = datetime.fromisoformat(f"{day}T23:00:00+00:00")
                for fields in (REPORT_FIELDS, None):
                    out.append(_plain(facts_at(index.db, "refs/heads/main", index.refresh().config,
                                               when, fields=fields), when))
        return out

    assert facts(True) == facts(False)
    assert b in facts(True)[-1]
