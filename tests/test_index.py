"""The derived SQLite index (.git/gitdesk/index.sqlite): built from the history, brought
up to date commit by commit, rebuilt when the history is rewritten, disposable, and
never the truth: what list, show and report say does not depend on it."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from gitdesk.index.events import Progress
from gitdesk.index.tickets import opened
from gitdesk.store.write import Desk
from support.cli import Gitdesk
from support.git import at

REF = "refs/heads/main"
LATER = "2027-01-01T00:00:00Z"  # as-of for reports: after every date used here


def index_path(desk: Gitdesk) -> Path:
    return desk.path / ".git" / "gitdesk" / "index.sqlite"


def query(desk: Gitdesk, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(index_path(desk))) as db:
        return list(db.execute(sql, params))


def events(desk: Gitdesk, ref: str = REF) -> list[tuple[Any, ...]]:
    """(seq, commit, ticket, field, old, new) of every event row, in index order."""
    return query(desk, "SELECT seq, commit_id, ticket, field, old, new FROM events "
                       "WHERE ref=? ORDER BY seq, rowid", ref)


def meta(desk: Gitdesk) -> dict[str, str]:
    return dict(query(desk, "SELECT key, value FROM meta"))  # type: ignore[arg-type]


def refresh(desk: Gitdesk, branch: str | None = None) -> Progress:
    """Bring tickets and events up to the branch tip, as every read command does."""
    with opened(Desk.open(str(desk.path), branch)) as index:
        _snap, progress = index.refresh_events()
    return progress


def head(desk: Gitdesk, rev: str = "HEAD") -> str:
    return desk.git("rev-parse", rev).strip()


def commits(desk: Gitdesk, rev: str = "HEAD") -> list[str]:
    return desk.git("rev-list", rev).split()


def rebuilt(desk: Gitdesk, tmp_path: Path) -> list[tuple[Any, ...]]:
    """The event rows a cold build from scratch gives (on a copy of the repository)."""
    copy = tmp_path / "cold"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(desk.path, copy, symlinks=True)
    for leftover in (copy / ".git" / "gitdesk").glob("index.sqlite*"):
        leftover.unlink()
    cold = Gitdesk(copy)
    refresh(cold)
    return events(cold)


def without_seq(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [row[1:] for row in rows]


@pytest.fixture
def history(desk: Gitdesk) -> Iterator[tuple[Gitdesk, dict[str, str]]]:
    """Two incidents with a few back-dated actions each."""
    ids: dict[str, str] = {}
    ids["A"] = desk.ok("open", "incident", "-s", "Web down", "--impact", "high", "--urgency",
                       "high", "--ci", "web01", env=at("2026-03-01T10:00:00Z")).strip()
    ids["B"] = desk.ok("open", "incident", "-s", "Printer jam",
                       env=at("2026-03-01T11:00:00Z")).strip()
    desk.ok("note", ids["A"], "-m", "Restarted httpd", env=at("2026-03-01T12:00:00Z"))
    desk.ok("assign", ids["A"], "test", env=at("2026-03-01T13:00:00Z"))
    desk.ok("resolve", ids["A"], "--code", "fixed", "-m", "Patched",
            env=at("2026-03-02T10:00:00Z"))
    yield desk, ids


# --- built from history ----------------------------------------------------------------------

def test_index_is_built_from_the_history(history: tuple[Gitdesk, dict[str, str]]) -> None:
    desk, ids = history
    desk.ok("report", "summary", "--as-of", LATER)
    assert index_path(desk).exists()

    tip = head(desk)
    config_blob = head(desk, "HEAD:.gitdesk/config.yaml")
    recorded = meta(desk)
    assert recorded[f"events:{REF}"] == tip
    assert recorded[f"ref:{REF}"] == f"{tip} {config_blob}"

    rows = events(desk)
    # every commit that touched a ticket file gave events, and only those did
    for key, tid in ids.items():
        path = desk.git("ls-files", f"tickets/*/*/{tid}.yaml").strip()
        touching = desk.git("log", "--format=%H", "--", path).split()
        assert {r[1] for r in rows if r[2] == tid} == set(touching), key
    assert {r[1] for r in rows} <= set(commits(desk))
    # one "opened" row per ticket, with its first status and the commit's (back-dated) time
    opened_rows = query(desk, "SELECT ticket, new, time, action FROM events "
                              "WHERE field='opened' ORDER BY seq")
    assert opened_rows == [(ids["A"], "new", 1772359200, "open"),   # 2026-03-01T10:00:00Z
                           (ids["B"], "new", 1772362800, "open")]   # 2026-03-01T11:00:00Z
    # the resolve commit: status, resolution code, solution and its note, nothing else
    resolve = head(desk)
    changed = {(r[3], r[4], r[5]) for r in rows if r[1] == resolve}
    before = next(r[5] for r in reversed(rows) if r[3] == "status" and r[1] != resolve
                  and r[2] == ids["A"])
    assert changed == {("status", before, "resolved"), ("resolution_code", None, "fixed"),
                       ("solution", None, "Patched"), ("note", None, "Patched")}
    note = [r for r in rows if r[3] == "note" and r[5] == "Restarted httpd"]
    assert len(note) == 1 and note[0][2] == ids["A"]
    # the ticket half: one row per ticket file, with the current fields
    files = desk.git("ls-files", "tickets").split()
    tickets = query(desk, "SELECT path, id, status, priority, ci FROM tickets WHERE ref=? "
                          "ORDER BY path", REF)
    assert [t[0] for t in tickets] == sorted(files)
    by_id = {t[1]: t for t in tickets}
    assert by_id[ids["A"]][2:] == ("resolved", "critical", "web01")
    assert by_id[ids["B"]][2:] == ("new", "medium", None)


# --- incremental --------------------------------------------------------------------------

def test_index_is_brought_up_to_date_commit_by_commit(
        history: tuple[Gitdesk, dict[str, str]]) -> None:
    desk, ids = history
    first = refresh(desk)
    assert first.commits == len(commits(desk))
    rows = events(desk)
    assert first.events == len(rows)
    # a marker row that only a rebuild would remove
    with closing(sqlite3.connect(index_path(desk))) as db, db:
        db.execute("INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                   (REF, 0, "marker", 0, None, None, "edit", "MARKER", None, "x", None, None))

    assert refresh(desk) == Progress(0, 0)  # nothing new: nothing walked

    desk.ok("note", ids["B"], "-m", "Paper refilled", env=at("2026-03-03T09:00:00Z"))
    progress = refresh(desk)
    assert progress == Progress(commits=1, events=1)
    after = events(desk)
    assert len(after) == len(rows) + 1 + 1  # + marker + the note
    assert "marker" in {r[1] for r in after}  # not rebuilt
    assert after[-1][1:] == (head(desk), ids["B"], "note", None, "Paper refilled")
    assert meta(desk)[f"events:{REF}"] == head(desk)

    desk.ok("set", ids["B"], "category=Hardware", "ci=prn01", env=at("2026-03-03T10:00:00Z"))
    desk.ok("note", ids["A"], "-m", "Post-mortem written", env=at("2026-03-03T11:00:00Z"))
    progress = refresh(desk)
    assert progress == Progress(commits=2, events=3)
    newest = events(desk)[len(after):]
    set_commit, note_commit = head(desk, "HEAD~1"), head(desk)
    assert sorted(r[1:] for r in newest if r[1] == set_commit) == [
        (set_commit, ids["B"], "category", None, "Hardware"),
        (set_commit, ids["B"], "ci", None, "prn01")]
    assert [r[1:] for r in newest if r[1] == note_commit] == [
        (note_commit, ids["A"], "note", None, "Post-mortem written")]
    assert meta(desk)[f"events:{REF}"] == note_commit
    # seq keeps growing in commit order
    assert [r[0] for r in events(desk)[1:]] == sorted(r[0] for r in events(desk)[1:])

    # the ticket rows follow too, and only the touched ticket's row changed
    blobs = dict(query(desk, "SELECT id, blob FROM tickets WHERE ref=?", REF))
    desk.ok("note", ids["A"], "-m", "Closed the loop", env=at("2026-03-04T10:00:00Z"))
    refresh(desk)
    now = dict(query(desk, "SELECT id, blob FROM tickets WHERE ref=?", REF))
    assert now[ids["B"]] == blobs[ids["B"]]
    path_a = desk.git("ls-files", f"tickets/*/*/{ids['A']}.yaml").strip()
    assert now[ids["A"]] == head(desk, f"HEAD:{path_a}") != blobs[ids["A"]]


def test_index_follows_a_plain_git_commit(history: tuple[Gitdesk, dict[str, str]]) -> None:
    """A hand edit committed with git (not gitdesk) is indexed like any other commit."""
    desk, ids = history
    refresh(desk)
    path = desk.path / desk.git("ls-files", f"tickets/*/*/{ids['B']}.yaml").strip()
    path.write_text(path.read_text().replace("summary: Printer jam",
                                             "summary: Printer jams daily"))
    desk.git("commit", "-q", "-am", "hand edit")
    assert refresh(desk) == Progress(commits=1, events=1)
    assert events(desk)[-1][1:] == (head(desk), ids["B"], "summary", "Printer jam",
                                    "Printer jams daily")
    listed = json.loads(desk.ok("list", "--format", "json"))
    assert {r["id"]: r["summary"] for r in listed}[ids["B"]] == "Printer jams daily"


# --- rewritten history --------------------------------------------------------------------

def test_reset_drops_the_events_of_the_dropped_commits(desk: Gitdesk, tmp_path: Path) -> None:
    a = desk.ok("open", "incident", "-s", "A", env=at("2026-04-01T10:00:00Z")).strip()
    desk.ok("note", a, "-m", "one", env=at("2026-04-01T11:00:00Z"))
    b = desk.ok("open", "incident", "-s", "B", env=at("2026-04-01T12:00:00Z")).strip()
    desk.ok("note", a, "-m", "two", env=at("2026-04-01T13:00:00Z"))
    refresh(desk)
    dropped = set(commits(desk)) - set(commits(desk, "HEAD~2"))
    assert len(dropped) == 2 and dropped <= {r[1] for r in events(desk)}
    listed_before = json.loads(desk.ok("list", "--format", "json"))
    assert {r["id"] for r in listed_before} == {a, b}

    desk.git("reset", "-q", "--hard", "HEAD~2")
    refresh(desk)
    rows = events(desk)
    assert not dropped & {r[1] for r in rows}
    assert b not in {r[2] for r in rows}
    assert "two" not in {r[5] for r in rows} and "one" in {r[5] for r in rows}
    assert meta(desk)[f"events:{REF}"] == head(desk)
    assert without_seq(rows) == without_seq(rebuilt(desk, tmp_path))
    assert [r["id"] for r in json.loads(desk.ok("list", "--format", "json"))] == [a]
    assert desk("show", b).exit_code != 0

    # new commits on top of the rewritten branch: walked incrementally
    desk.ok("note", a, "-m", "three", env=at("2026-04-02T10:00:00Z"))
    c = desk.ok("open", "incident", "-s", "C", env=at("2026-04-02T11:00:00Z")).strip()
    assert refresh(desk).commits == 2
    rows = events(desk)
    assert {"one", "three"} <= {r[5] for r in rows} and "two" not in {r[5] for r in rows}
    assert without_seq(rows) == without_seq(rebuilt(desk, tmp_path))
    assert {r["id"] for r in json.loads(desk.ok("list", "--format", "json"))} == {a, c}

    # the commit the index was built from is dropped and pruned from the repository
    desk.git("reset", "-q", "--hard", "HEAD~1")
    desk.git("reflog", "expire", "--expire=now", "--all")
    desk.git("gc", "-q", "--prune=now")
    refresh(desk)
    rows = events(desk)
    assert c not in {r[2] for r in rows}
    assert without_seq(rows) == without_seq(rebuilt(desk, tmp_path))
    assert [r["id"] for r in json.loads(desk.ok("list", "--format", "json"))] == [a]
    summary = json.loads(desk.ok("report", "summary", "--as-of", LATER, "--format", "json"))
    assert summary["sections"][0]["rows"][-1]["total"] == 1


def test_rebase_replaces_the_events_of_the_rewritten_commits(desk: Gitdesk,
                                                             tmp_path: Path) -> None:
    a = desk.ok("open", "incident", "-s", "A", env=at("2026-04-01T10:00:00Z")).strip()
    b = desk.ok("open", "incident", "-s", "B", env=at("2026-04-01T11:00:00Z")).strip()
    desk.ok("note", a, "-m", "x", env=at("2026-04-01T12:00:00Z"))
    desk.ok("note", a, "-m", "y", env=at("2026-04-01T13:00:00Z"))
    refresh(desk)
    old = set(commits(desk))
    # drop the commit that opened B; the two notes are replayed with new ids
    desk.git("rebase", "-q", "--onto", "HEAD~3", "HEAD~2")
    new = set(commits(desk))
    assert len(new) == len(old) - 1
    refresh(desk)
    rows = events(desk)
    assert {r[1] for r in rows} <= new
    assert not (old - new) & {r[1] for r in rows}
    assert b not in {r[2] for r in rows}
    notes = [(r[5], r[1]) for r in rows if r[3] == "note"]
    assert [n for n, _ in notes] == ["x", "y"]
    assert [c for _, c in notes] == [head(desk, "HEAD~1"), head(desk)]
    assert without_seq(rows) == without_seq(rebuilt(desk, tmp_path))
    assert [r["id"] for r in json.loads(desk.ok("list", "--format", "json"))] == [a]
    summary = json.loads(desk.ok("report", "summary", "--as-of", LATER, "--format", "json"))
    assert summary["sections"][0]["rows"][-1]["total"] == 1


# --- disposable -----------------------------------------------------------------------------

REPORTS = ("summary", "aging", "resolution", "past-due", "detail", "sla", "weekly")


def outputs(desk: Gitdesk, ids: dict[str, str]) -> dict[str, str]:
    out = {"list": desk.ok("list", "--format", "json"),
           "list open": desk.ok("list", "--open", "--sort", "-created"),
           "show": desk.ok("show", ids["A"])}
    for name in REPORTS:
        out[name] = desk.ok("report", name, "--as-of", LATER, "--format", "json")
    return out


def test_reindex_rebuilds_from_history(history: tuple[Gitdesk, dict[str, str]]) -> None:
    desk, ids = history
    before = outputs(desk, ids)
    total = len(events(desk))
    # make the index wrong without telling it: the rows are gone, the meta says up to date
    with closing(sqlite3.connect(index_path(desk))) as db, db:
        db.execute("DELETE FROM events")
        db.execute("DELETE FROM tickets")
    assert json.loads(desk.ok("list", "--format", "json")) == []
    assert outputs(desk, ids) != before

    run = desk("reindex").ok()
    assert run.stderr.strip() == f"indexed {len(commits(desk))} commit(s), {total} event(s)"
    assert len(events(desk)) == total
    assert outputs(desk, ids) == before
    assert meta(desk)[f"events:{REF}"] == head(desk)


def test_deleting_the_index_loses_nothing(history: tuple[Gitdesk, dict[str, str]]) -> None:
    desk, ids = history
    before = outputs(desk, ids)
    rows = events(desk)
    index_path(desk).unlink()
    assert outputs(desk, ids) == before
    assert events(desk) == rows


def test_list_and_show_are_the_same_without_the_index(
        history: tuple[Gitdesk, dict[str, str]]) -> None:
    desk, ids = history
    desk.ok("open", "incident", "-s", "Mail slow", "--ci", "mail01", "--priority", "low",
            env=at("2026-03-05T10:00:00Z"))
    desk.ok("open", "problem", "-s", "Web outages", "--ci", "web01",
            env=at("2026-03-06T10:00:00Z"))
    queries = [(), ("--open",), ("incident",), ("--priority", "critical"),
               ("--where", "ci ~ web"), ("--sort", "-created"), ("--closed",),
               ("--resolved", "--columns", "id,status,fields.affected_users")]
    for fmt in ("json", "table", "csv"):
        for args in queries:
            indexed = desk.ok("list", *args, "--format", fmt)
            from_tree = desk.ok("list", *args, "--at", "main", "--format", fmt)
            assert indexed == from_tree, args
    assert len(json.loads(desk.ok("list", "--format", "json"))) == 4
    for tid in ids.values():
        for fmt in ("text", "json", "yaml"):
            assert desk.ok("show", tid, "--format", fmt) == \
                desk.ok("show", tid, "--at", "HEAD", "--format", fmt)

    # an index that cannot be opened at all: the tree is read instead, with a warning
    indexed = {args: desk.ok("list", *args, "--format", "json") for args in queries}
    index_path(desk).unlink()
    index_path(desk).mkdir()
    try:
        for args in queries:
            run = desk("list", *args, "--format", "json").ok()
            assert run.stdout == indexed[args], args
            assert "index unusable" in run.stderr
    finally:
        index_path(desk).rmdir()


# --- merges -----------------------------------------------------------------------------------

def test_merging_a_branch_does_not_double_count(desk: Gitdesk) -> None:
    a = desk.ok("open", "incident", "-s", "A", env=at("2026-05-01T10:00:00Z")).strip()
    b = desk.ok("open", "incident", "-s", "B", env=at("2026-05-01T11:00:00Z")).strip()
    desk.git("branch", "side")
    desk.ok("--branch", "side", "note", a, "-m", "from side", env=at("2026-05-02T10:00:00Z"))
    c = desk.ok("--branch", "side", "open", "incident", "-s", "C",
                env=at("2026-05-02T11:00:00Z")).strip()
    desk.ok("note", b, "-m", "from main", env=at("2026-05-02T12:00:00Z"))
    refresh(desk)
    refresh(desk, "side")
    main_rows = without_seq(events(desk))
    side_only = set(commits(desk, "side")) - set(commits(desk, "main"))
    side_rows = [r for r in without_seq(events(desk, "refs/heads/side")) if r[0] in side_only]
    assert len(side_rows) > 2

    desk.git("merge", "-q", "--no-ff", "side", "-m", "Merge side",
             "--no-edit")
    merge = head(desk)
    refresh(desk)
    rows = without_seq(events(desk))
    assert not [r for r in rows if r[0] == merge]
    assert Counter(rows) == Counter(main_rows) + Counter(side_rows)
    assert [r[4] for r in rows if r[2] == "note"].count("from side") == 1
    assert {r[1] for r in rows if r[2] == "opened"} == {a, b, c}
    summary = json.loads(desk.ok("report", "summary", "--as-of", LATER, "--format", "json"))
    assert summary["sections"][0]["rows"][-1]["total"] == 3


def test_merging_edits_of_one_ticket_does_not_double_count(desk: Gitdesk) -> None:
    """Both sides edit the same ticket (different keys); git merges the file cleanly.
    The merged version differs from both parents, but every change in it was already
    indexed with the commit that made it: the merge adds no event."""
    a = desk.ok("open", "incident", "-s", "A", "--ci", "web01",
                env=at("2026-05-01T10:00:00Z")).strip()
    desk.git("branch", "side")
    desk.ok("set", a, "category=Network", env=at("2026-05-02T10:00:00Z"))
    desk.ok("--branch", "side", "note", a, "-m", "from side", env=at("2026-05-02T11:00:00Z"))
    desk.ok("--branch", "side", "resolve", a, "--code", "fixed", "-m", "Fixed on side",
            env=at("2026-05-02T12:00:00Z"))
    refresh(desk)
    desk.git("merge", "-q", "--no-ff", "side", "-m", "Merge side", "--no-edit")
    merge = head(desk)
    merged = json.loads(desk.ok("show", a, "--format", "json"))
    assert merged["category"] == "Network" and merged["status"] == "resolved"
    assert [n["text"] for n in merged["notes"]] == ["from side", "Fixed on side"]
    refresh(desk)
    rows = without_seq(events(desk))
    assert [r[4] for r in rows if r[2] == "note"] == ["from side", "Fixed on side"]
    # the first status is on the "opened" row
    assert [(r[3], r[4]) for r in rows if r[2] in ("opened", "status")] == \
        [(None, "new"), ("new", "resolved")]
    assert [r for r in rows if r[0] == merge] == []


def test_git_output_is_read_while_git_writes(desk: Gitdesk) -> None:
    """stream_git (how the index reads `git log`) yields every record, reports a
    failing git with git's own message, and stops git when the reader stops early."""
    from gitdesk import gitio
    from gitdesk.errors import GitdeskError

    for n in range(3):
        desk.ok("open", "incident", "-s", f"Printer {n} jams")
    repo = Desk.open(str(desk.path)).repo
    streamed = list(gitio.stream_git(repo, ["log", "--format=%x01%H"], b"\x01"))
    assert [r.strip().decode() for r in streamed] == desk.git("log", "--format=%H").split()
    with pytest.raises(GitdeskError, match=r"git log: .*no-such-revision"):
        list(gitio.stream_git(repo, ["log", "no-such-revision"], b"\x01"))
    records = gitio.stream_git(repo, ["log", "--format=%x01%H"], b"\x01")
    assert next(records)
    records.close()  # git is killed and reaped, no error


def test_cold_build_of_both_halves_matches_the_incremental_one(
        history: tuple[Gitdesk, dict[str, str]]) -> None:
    """From scratch, the tickets table reuses what the events pass parsed; it must
    hold exactly what the table built commit by commit holds, broken files included."""
    desk, _ids = history
    path = desk.git("ls-files", "tickets").split()[0]
    (desk.path / path).write_text("id: [broken\n", encoding="utf-8")
    desk.git("commit", "-qam", "break a ticket by hand", "--no-verify")
    refresh(desk)
    columns = "path, blob, id, type, status, priority, data, error"
    before = query(desk, f"SELECT {columns} FROM tickets ORDER BY path")
    rows = events(desk)
    index_path(desk).unlink()
    refresh(desk)
    assert query(desk, f"SELECT {columns} FROM tickets ORDER BY path") == before
    assert events(desk) == rows
    assert any(error for *_rest, error in before)


def test_an_index_of_another_layout_is_rebuilt(history: tuple[Gitdesk, dict[str, str]]) -> None:
    """An index written by another version of gitdesk (older tables, older
    columns) is dropped and built again, not half-used."""
    desk, _ids = history
    before = json.loads(desk.ok("report", "summary", "--as-of", "HEAD", "--format", "json"))
    rows = events(desk)
    with closing(sqlite3.connect(index_path(desk))) as db, db:
        db.execute("DROP TABLE facts_latest")
        db.execute("CREATE TABLE facts_latest(ref TEXT, key TEXT, data BLOB)")
        db.execute("CREATE TABLE facts_cache(ref TEXT, key TEXT, data BLOB)")
        db.execute("UPDATE meta SET value='3' WHERE key='schema'")
    assert json.loads(desk.ok("report", "summary", "--as-of", "HEAD", "--format", "json")) == \
        before
    assert events(desk) == rows
    assert meta(desk)["schema"] != "3"
    tables = {name for (name,) in query(desk, "SELECT name FROM sqlite_master")}
    assert "facts_cache" not in tables


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xff not sqlite at all " * 500)


def _bad_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[16:24] = b"\xff" * 8  # page size and file format bytes
    path.write_bytes(bytes(data))


def _bad_wal(path: Path) -> None:
    wal = path.with_name(path.name + "-wal")
    wal.write_bytes(b"\x37\x7f\x06\x82" + b"\xee" * 4096)
    _truncate(path)


@pytest.mark.parametrize("damage", [_truncate, _garbage, _bad_header, _bad_wal],
                         ids=["truncated", "garbage", "bad-header", "bad-wal"])
def test_a_damaged_index_is_moved_aside_and_rebuilt(
        history: tuple[Gitdesk, dict[str, str]], damage: Any) -> None:
    """The index is disposable in every failure: reports, list and reindex work on,
    with one warning naming the file kept aside."""
    desk, ids = history
    expected = outputs(desk, ids)
    report = desk.ok("report", "summary", "--as-of", "HEAD", "--format", "json")
    for command in (("report", "summary", "--as-of", "HEAD", "--format", "json"),
                    ("list", "--format", "json"), ("reindex",)):
        damage(index_path(desk))
        result = desk(*command)
        assert result.exit_code == 0, result.stderr
        assert "internal error" not in result.stderr
        assert result.stderr.count("the index was damaged") == 1, result.stderr
        assert "index.sqlite.damaged-" in result.stderr
    assert desk.ok("report", "summary", "--as-of", "HEAD", "--format", "json") == report
    assert outputs(desk, ids) == expected
    assert list(index_path(desk).parent.glob("index.sqlite.damaged-*"))
