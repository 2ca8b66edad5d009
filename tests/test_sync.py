"""Many clones, one desk: the merge driver under plain git, `gitdesk sync`, conflicts.

Each test has a bare server with the hooks and clones made with `git clone`; the
driver is set up in a clone by `gitdesk doctor --fix` (init sets it up in the
clone it makes). Times are back-dated so that the order of events is known.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitdesk.domain import ids
from support.cli import Gitdesk
from support.git import at, fsck, git, run
from support.server import GITDESK, bare_with_hooks

T1, T2, T3, T4 = (f"2030-01-01T1{h}:00:00Z" for h in range(4))


def desk_with_remote(tmp_path: Path) -> tuple[Gitdesk, Path]:
    server = bare_with_hooks(tmp_path / "srv.git")
    Gitdesk(tmp_path)("init", str(tmp_path / "ann"), env=at(T1)).ok()
    ann = Gitdesk(tmp_path / "ann")
    ann.git("remote", "add", "origin", str(server))
    ann.git("push", "-q", "origin", "main")
    return ann, server


def clone(tmp_path: Path, server: Path, name: str, *, driver: bool = True) -> Gitdesk:
    run(["git", "clone", "-q", str(server), str(tmp_path / name)])
    desk = Gitdesk(tmp_path / name)
    if driver:
        desk.ok("doctor", "--fix")
    return desk


def ticket(desk: Gitdesk, tid: str) -> dict[str, Any]:
    return dict(json.loads(desk.ok("show", tid, "--format", "json")))


def files(desk: Gitdesk) -> dict[str, str]:
    """Every ticket file at the tip, by path: what clones must agree on byte for byte."""
    out = {}
    for line in desk.git("ls-tree", "-r", "HEAD", "tickets").splitlines():
        _mode, _kind, oid_path = line.split(" ", 2)
        oid, path = oid_path.split("\t")
        out[path] = desk.git("cat-file", "blob", oid)
    return out


@pytest.fixture
def team(tmp_path: Path) -> tuple[Gitdesk, Gitdesk, Path, str]:
    """ann and bob, each in a clone of the server, and an incident both can see."""
    ann, server = desk_with_remote(tmp_path)
    tid = ann.ok("open", "incident", "-s", "Mail delayed", "--impact", "medium",
                 "--urgency", "medium", env=at(T1)).strip()
    ann.git("push", "-q", "origin", "main")
    return ann, clone(tmp_path, server, "bob"), server, tid


# --- the driver, under plain git -------------------------------------------------------------

def test_plain_git_pull_merges_two_clones_notes_with_no_markers(
        team: tuple[Gitdesk, Gitdesk, Path, str]) -> None:
    ann, bob, server, tid = team
    bob.ok("note", tid, "-m", "bob looked at the queue", env=at(T2))
    bob.git("push", "-q", "origin", "main")
    ann.ok("note", tid, "-m", "ann restarted postfix", env=at(T3))
    pulled = run(["git", "pull", "--no-rebase", "-q", "origin", "main"], cwd=ann.path,
                 env=at(T4))
    assert "CONFLICT" not in pulled.stdout + pulled.stderr
    text = next((ann.path / "tickets/incident").rglob(f"{tid}.yaml")).read_text()
    assert "<<<<<<<" not in text and ">>>>>>>" not in text
    notes = [n["text"] for n in ticket(ann, tid)["notes"]]
    assert notes == ["bob looked at the queue", "ann restarted postfix"]
    ann.ok("verify")
    ann.git("push", "-q", "origin", "main")  # the server's hook accepts the merge
    fsck(server)


def test_without_the_driver_git_conflicts_and_the_clone_is_told(
        team: tuple[Gitdesk, Gitdesk, Path, str], tmp_path: Path) -> None:
    ann, _bob, server, tid = team
    carol = clone(tmp_path, server, "carol", driver=False)
    first = carol("list")
    assert "gitdesk doctor --fix" in first.stderr
    assert "gitdesk doctor --fix" not in carol("list").stderr  # said once
    ann.ok("note", tid, "-m", "from ann", env=at(T2))
    ann.git("push", "-q", "origin", "main")
    carol.ok("note", tid, "-m", "from carol", env=at(T3))
    pulled = run(["git", "pull", "--no-rebase", "-q", "origin", "main"], cwd=carol.path,
                 check=False)
    assert pulled.returncode != 0 and "CONFLICT" in pulled.stdout + pulled.stderr
    run(["git", "merge", "--abort"], cwd=carol.path)
    carol.ok("doctor", "--fix")
    run(["git", "pull", "--no-rebase", "-q", "origin", "main"], cwd=carol.path)
    assert [n["text"] for n in ticket(carol, tid)["notes"]] == ["from ann", "from carol"]


def test_rebase_and_cherry_pick_use_the_driver_too(
        team: tuple[Gitdesk, Gitdesk, Path, str]) -> None:
    ann, bob, _server, tid = team
    bob.ok("note", tid, "-m", "bob", env=at(T2))
    bob.git("push", "-q", "origin", "main")
    ann.ok("note", tid, "-m", "ann", env=at(T3))
    run(["git", "pull", "--rebase", "-q", "origin", "main"], cwd=ann.path)
    assert [n["text"] for n in ticket(ann, tid)["notes"]] == ["bob", "ann"]
    ann.git("push", "-q", "origin", "main")
    bob.ok("note", tid, "-m", "bob again", env=at(T4))
    side = bob.git("rev-parse", "HEAD").strip()
    bob.git("reset", "-q", "--hard", "HEAD~1")
    run(["git", "pull", "--no-rebase", "-q", "origin", "main"], cwd=bob.path)
    run(["git", "cherry-pick", side], cwd=bob.path)
    assert [n["text"] for n in ticket(bob, tid)["notes"]] == ["bob", "ann", "bob again"]


def test_impact_and_urgency_from_two_clones_recompute_priority_and_due(
        team: tuple[Gitdesk, Gitdesk, Path, str]) -> None:
    ann, bob, _server, tid = team
    before = ticket(ann, tid)
    bob.ok("set", tid, "impact=high", env=at(T2))
    bob.git("push", "-q", "origin", "main")
    ann.ok("set", tid, "urgency=high", env=at(T3))
    run(["git", "pull", "--no-rebase", "-q", "origin", "main"], cwd=ann.path)
    after = ticket(ann, tid)
    assert (after["impact"], after["urgency"]) == ("high", "high")
    assert after["priority"] == "critical" != before["priority"]
    assert after["due"] != before["due"]
    assert not after.get("conflicts")
    ann.ok("verify")


def test_a_hold_in_one_clone_and_a_resolve_in_the_other_leave_no_pending_reason(
        team: tuple[Gitdesk, Gitdesk, Path, str]) -> None:
    """bob puts the incident on hold (a reason); ann, not knowing, resolves it. The
    merge is resolved, and keeps no reason, as leaving pending drops it: `git pull`
    with the driver and `sync` alike."""
    ann, bob, server, tid = team
    ann.ok("transition", tid, "in-progress", env=at(T1))
    ann.git("push", "-q", "origin", "main")
    bob.git("pull", "-q", "--ff-only", "origin", "main")
    bob.ok("transition", tid, "pending", "--reason", "awaiting-vendor", env=at(T2))
    bob.git("push", "-q", "origin", "main")
    ann.ok("resolve", tid, "--code", "fixed", "-m", "restarted the MTA", env=at(T3))
    twin = clone(ann.path.parent, server, "ann2")
    twin.git("fetch", "-q", str(ann.path), "main")
    twin.git("reset", "-q", "--hard", "FETCH_HEAD")
    run(["git", "pull", "--no-rebase", "-q", "origin", "main"], cwd=twin.path, env=at(T4))
    ann.ok("sync", env=at(T4))
    for desk in (ann, twin):
        merged = ticket(desk, tid)
        assert merged["status"] == "resolved" and "pending_reason" not in merged
        assert not merged.get("conflicts")
        desk.ok("verify")
    assert files(ann) == files(twin)


# --- gitdesk sync ----------------------------------------------------------------------------

def test_sync_merges_pushes_and_the_other_clone_fast_forwards(
        team: tuple[Gitdesk, Gitdesk, Path, str]) -> None:
    ann, bob, server, tid = team
    bob.ok("note", tid, "-m", "bob", env=at(T2))
    assert "pushed" in bob.ok("sync")
    ann.ok("note", tid, "-m", "ann", env=at(T3))
    assert "merged" in ann.ok("sync", env=at(T4))
    assert "fast-forwarded" in bob.ok("sync")
    assert "up to date" in bob.ok("sync")
    assert files(ann) == files(bob)
    assert [n["text"] for n in ticket(bob, tid)["notes"]] == ["bob", "ann"]
    for desk in (ann, bob):
        desk.ok("verify")
        fsck(desk.path)
    assert git(server, "rev-parse", "main") == ann.git("rev-parse", "HEAD")


def test_sync_and_git_pull_with_the_driver_make_the_same_tickets(
        tmp_path: Path) -> None:
    """The same two histories, merged once by `gitdesk sync` and once by `git pull`:
    byte for byte the same ticket files, conflicts included."""
    ann, server = desk_with_remote(tmp_path)
    tid = ann.ok("open", "incident", "-s", "VPN flaps", env=at(T1)).strip()
    other = ann.ok("open", "incident", "-s", "Printer", env=at(T1)).strip()
    ann.git("push", "-q", "origin", "main")
    bob = clone(tmp_path, server, "bob")
    bob.ok("set", tid, "ci=fw02", "description=line one\nline two", env=at(T2))
    bob.ok("note", other, "-m", "toner", env=at(T2))
    bob.git("push", "-q", "origin", "main")
    ann.ok("set", tid, "ci=fw01", "category=Network", env=at(T3))
    ann.ok("note", tid, "-m", "it flaps at night", env=at(T3))
    run(["git", "clone", "-q", str(ann.path), str(tmp_path / "ann2")])
    twin = Gitdesk(tmp_path / "ann2")
    twin.git("remote", "set-url", "origin", str(server))
    twin.ok("doctor", "--fix")
    run(["git", "pull", "--no-rebase", "-q", "origin", "main"], cwd=twin.path, env=at(T4))
    assert "Merge branch" in twin.git("log", "-1", "--format=%s")  # git's own merge
    ann.ok("sync", env=at(T4))
    assert "Merge origin/main" in ann.git("log", "-1", "--format=%s")
    assert files(ann) == files(twin)
    merged = ticket(ann, tid)
    assert merged["ci"] == "fw01"  # the later change wins, though the other sorts last
    assert [c["field"] for c in merged["conflicts"]] == ["ci"]
    entry = merged["conflicts"][0]
    assert (entry["value"], entry["at"]) == ("fw02", T2)
    assert entry["commit"] and entry["by"] == "Test User"


def test_a_conflict_is_listed_shown_and_settled(
        team: tuple[Gitdesk, Gitdesk, Path, str]) -> None:
    ann, bob, _server, tid = team
    bob.ok("set", tid, "ci=web01", env=at(T2))
    bob.ok("sync")
    ann.ok("set", tid, "ci=web02", env=at(T3))
    ann.ok("sync", env=at(T4))
    listed = json.loads(ann.ok("list", "--conflicts", "--format", "json"))
    assert [r["id"] for r in listed] == [tid]
    assert "ci: kept web02; the other side had web01" in ann.ok("show", tid)
    before = ann.commits()
    ann.ok("conflicts", "resolve", tid, "ci", "--take", "web01")
    assert ann.commits() == before + 1
    settled = ticket(ann, tid)
    assert settled["ci"] == "web01" and not settled.get("conflicts")
    assert "Conflict on ci settled: web01" in settled["notes"][-1]["text"]
    assert json.loads(ann.ok("list", "--conflicts", "--format", "json")) == []
    refused = ann("conflicts", "resolve", tid, "ci")
    assert refused.exit_code == 1 and "has no conflict on ci" in refused.stderr
    ann.ok("verify")


def test_two_clones_that_open_the_same_id_keep_both_tickets(
        team: tuple[Gitdesk, Gitdesk, Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Forced: both clones mint the same random part, so the same display ID with a
    different uid. The remote's keeps its ID; ours is renumbered, our link follows."""
    ann, bob, server, tid = team
    real = ids.ulid
    monkeypatch.setattr(ids, "ulid", lambda now_ms=None: real(now_ms)[:10] + "Q2K9XDMT3VY8A0B5")
    theirs = bob.ok("open", "problem", "-s", "Bob's problem", env=at(T2)).strip()
    bob.ok("sync")
    mine = ann.ok("open", "problem", "-s", "Ann's problem", env=at(T3)).strip()
    assert mine == theirs
    ann.ok("link", tid, "caused-by", mine, env=at(T3))
    monkeypatch.setattr(ids, "ulid", real)
    result = ann("sync", env=at(T4))
    assert result.exit_code == 0, result.stderr
    assert f"{mine} is also a ticket on origin: yours is now" in result.stderr
    problems = json.loads(ann.ok("list", "problem", "--format", "json"))
    summaries = {p["summary"]: p["id"] for p in problems}
    assert summaries["Bob's problem"] == theirs
    renamed = summaries["Ann's problem"]
    assert renamed != theirs
    assert {"rel": "caused-by", "id": renamed} in ticket(ann, tid)["links"]
    assert f"Renumbered from {theirs}" in ticket(ann, renamed)["notes"][-1]["text"]
    ann.ok("verify")
    assert "up to date" in ann.ok("sync")
    assert git(server, "rev-parse", "main") == ann.git("rev-parse", "HEAD")


def test_sync_offline_says_so_and_changes_nothing(
        team: tuple[Gitdesk, Gitdesk, Path, str], tmp_path: Path) -> None:
    ann, _bob, _server, tid = team
    ann.ok("note", tid, "-m", "offline work", env=at(T2))
    head = ann.git("rev-parse", "HEAD")
    ann.git("remote", "set-url", "origin", str(tmp_path / "gone.git"))
    result = ann("sync")
    assert result.exit_code == 3
    assert "could not reach origin" in result.stderr and "nothing was changed" in result.stderr
    assert ann.git("rev-parse", "HEAD") == head


def test_a_merge_the_rules_refuse_lands_nowhere(
        team: tuple[Gitdesk, Gitdesk, Path, str]) -> None:
    """Both sides changed .gitdesk/: sync stops before it commits anything."""
    ann, bob, _server, _tid = team
    for desk, code in ((bob, "fixed-by-bob"), (ann, "fixed-by-ann")):
        config = desk.path / ".gitdesk/config.yaml"
        config.write_text(config.read_text().replace("resolution_codes:\n",
                                                     f"resolution_codes:\n  - {code}\n", 1))
        desk.git("commit", "-qam", "another code", "--no-verify")
    bob.git("push", "-q", "origin", "main")
    head = ann.git("rev-parse", "HEAD")
    result = ann("sync", env=at(T4))
    assert result.exit_code == 1 and "both sides changed .gitdesk/config.yaml" in result.stderr
    assert ann.git("rev-parse", "HEAD") == head


def test_two_clones_syncing_at_the_same_moment_both_land(
        team: tuple[Gitdesk, Gitdesk, Path, str], tmp_path: Path) -> None:
    """Pushed at once: one push loses the race, its sync fetches, merges again and
    pushes; nothing is lost."""
    ann, bob, server, tid = team
    carol = clone(tmp_path, server, "carol")
    notes = {}
    for i, desk in enumerate((ann, bob, carol)):
        for j in range(3):
            text = f"{desk.path.name} {j}"
            desk.ok("note", tid, "-m", text, env=at(f"2030-01-02T0{i}:0{j}:00Z"))
            notes[text] = True
    procs = [subprocess.Popen([GITDESK, "sync"], cwd=d.path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for d in (ann, bob, carol)]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    for desk in (ann, bob, carol):
        desk.ok("sync")
    for desk in (ann, bob, carol):
        desk.ok("sync")
    assert files(ann) == files(bob) == files(carol)
    assert set(notes) <= {n["text"] for n in ticket(ann, tid)["notes"]}
    assert git(server, "rev-parse", "main") == ann.git("rev-parse", "HEAD")
    fsck(server)


def test_the_driver_starts_without_click_pygit2_or_ruamel(
        team: tuple[Gitdesk, Gitdesk, Path, str], tmp_path: Path) -> None:
    """A merge touching 500 tickets runs the driver 500 times: it loads the merge, the
    YAML reader and the emitter, not the command line, libgit2 or ruamel."""
    ann, bob, _server, tid = team
    path = next((ann.path / "tickets/incident").rglob(f"{tid}.yaml"))
    base = path.read_bytes()
    ann.ok("note", tid, "-m", "ours", env=at(T2))
    ours = path.read_bytes()
    bob.ok("note", tid, "-m", "theirs", env=at(T3))
    theirs = next((bob.path / "tickets/incident").rglob(f"{tid}.yaml")).read_bytes()
    for name, data in (("o", base), ("a", ours), ("b", theirs)):
        (tmp_path / name).write_bytes(data)
    code = ("import sys\nsys.argv = ['gitdesk', 'merge-file', *sys.argv[1:]]\n"
            "from gitdesk.cli import main\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
            "print(code, sorted({m.split('.')[0] for m in sys.modules} & "
            "{'click', 'pygit2', 'ruamel', 'jinja2', 'sqlite3'}))")
    args = [sys.executable, "-c", code, str(tmp_path / "o"), str(tmp_path / "a"),
            str(tmp_path / "b"), str(path.relative_to(ann.path))]
    first = subprocess.run(args, capture_output=True, text=True, cwd=ann.path)
    assert first.stdout.startswith("0 "), first.stdout + first.stderr  # fills the config cache
    (tmp_path / "a").write_bytes(ours)
    out = subprocess.run(args, capture_output=True, text=True, cwd=ann.path)
    assert out.stdout.strip() == "0 []", out.stdout + out.stderr
    merged = (tmp_path / "a").read_text()
    assert "text: ours" in merged and "text: theirs" in merged


def test_reports_after_syncs_count_each_event_at_its_author_time(
        team: tuple[Gitdesk, Gitdesk, Path, str]) -> None:
    """Resolved in one clone, noted in the other: after the syncs the ticket resolves at
    the resolving commit's author time in every clone, and a rebuilt index says what
    the one kept up to date commit by commit says."""
    ann, bob, _server, tid = team
    before = {d.path.name: d.ok("report", "detail", "--as-of", T4, "--format", "json")
              for d in (ann, bob)}  # builds each index before the merges arrive
    bob.ok("note", tid, "-m", "still slow", env=at(T2))
    bob.ok("sync")
    ann.ok("resolve", tid, "--code", "fixed", "-m", "queue flushed", env=at(T3))
    ann.ok("sync", env=at(T4))
    bob.ok("sync")
    reports = {}
    for desk in (ann, bob):
        detail = json.loads(desk.ok("report", "detail", "--as-of", T4, "--format", "json"))
        row = next(r for r in detail["sections"][0]["rows"] if tid in json.dumps(r))
        reports[desk.path.name] = row
        resolution = json.loads(desk.ok("report", "resolution", "--as-of", T4, "--format",
                                        "json"))
        incremental = {name: desk.ok("report", name, "--as-of", T4, "--format", "json")
                       for name in ("summary", "resolution", "detail", "sla")}
        desk.ok("reindex")
        assert {name: desk.ok("report", name, "--as-of", T4, "--format", "json")
                for name in ("summary", "resolution", "detail", "sla")} == incremental
        rows = resolution["sections"][0]["rows"]
        assert rows[0] == {"resolution time": "0-2 days", "tickets": 1}
    assert reports["ann"] == reports["bob"]
    assert before["ann"] != json.dumps(reports["ann"])
    shown = ticket(ann, tid)
    assert shown["status"] == "resolved" and [n["text"] for n in shown["notes"]] == [
        "still slow", "queue flushed"]
    history = ann.ok("history", tid, "--format", "json")
    resolved = [e for e in json.loads(history) if e["field"] == "status" and e["new"] == "resolved"]
    assert resolved and resolved[0]["at"].startswith("2030-01-01T12:00")
    assert "2030-01-01T12:00" in json.dumps(reports["ann"])  # modified: the resolve


def test_sync_refuses_to_overwrite_uncommitted_edits(
        team: tuple[Gitdesk, Gitdesk, Path, str]) -> None:
    ann, bob, _server, tid = team
    bob.ok("note", tid, "-m", "from bob", env=at(T2))
    bob.ok("sync")
    path = next((ann.path / "tickets/incident").rglob(f"{tid}.yaml"))
    path.write_text(path.read_text() + "# my own comment\n")
    head = ann.git("rev-parse", "HEAD")
    result = ann("sync")
    assert result.exit_code == 1 and "uncommitted edits" in result.stderr
    assert ann.git("rev-parse", "HEAD") == head
    assert path.read_text().endswith("# my own comment\n")
