"""The demo desk: examples/repo/scenario.yaml replayed with gitdesk's own commands.

One build (through `gitdesk demo`, module-scoped) serves the checks of its
content; a second build with the same --until checks that it is reproducible.
Every ITIL discipline is in it, and the approvals are signed: `gitdesk verify`
passes over the whole history.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitdesk.actions.init import template_file
from gitdesk.cli import demo
from gitdesk.cli import scenario as scenario_file
from gitdesk.cli.root import cli
from gitdesk.domain.model import plain
from gitdesk.errors import GitdeskError
from gitdesk.store.write import Desk
from gitdesk.yaml import roundtrip as yamlio
from support.cli import Gitdesk
from support.git import fsck, git, isolate

UNTIL = "2026-11-20 19:30:00"
END = datetime(2026, 11, 20, 19, 30, tzinfo=UTC)
DAY = 86400


SIGNERS = {"carl", "maria", "omar"}  # the scenario's people with `signing: true`


@dataclass
class Built:
    path: Path
    stdout: str
    stderr: str
    seconds: float
    gitconfig: str  # the global git config after the build


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The demo desk, built once for this module in an isolated git environment.

    (The autouse `isolated` fixture is per test, so this module-scoped build
    sets up the same isolation itself.) The build takes seconds and whichever
    test asks first pays for it, so every test that uses it is marked slow.
    """
    base = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        home = isolate(mp, base)
        path = base / "demo-desk"
        started = time.monotonic()
        result = CliRunner().invoke(cli, ["demo", str(path), "--until", UNTIL],
                                    catch_exceptions=False)
        seconds = time.monotonic() - started
        assert result.exit_code == 0, result.stderr
    assert not list(home.iterdir()), "the demo wrote into HOME"
    yield Built(path, result.stdout, result.stderr, seconds, (base / "gitconfig").read_text())


def tickets(path: Path) -> list[dict[str, Any]]:
    snap = Desk.open(str(path)).snapshot()
    return [snap.load(p).plain() for p, _oid in snap.ticket_paths()]


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in records}


def commit_times(path: Path) -> list[int]:
    return [int(t) for t in git(path, "log", "--reverse", "--format=%ct").split()]


def links(record: dict[str, Any], rel: str) -> set[str]:
    return {x["id"] for x in record.get("links") or [] if x["rel"] == rel}


def statuses(path: Path, tid: str) -> list[str]:
    history = json.loads(Gitdesk(path).ok("history", tid, "--format", "json"))
    return [row["new"] for row in history if row["field"] == "status"]


def one(records: list[dict[str, Any]], summary: str) -> dict[str, Any]:
    found = [r for r in records if r["summary"].startswith(summary)]
    assert len(found) == 1, [r["summary"] for r in found]
    return found[0]


@pytest.mark.slow
def test_demo_prints_the_open_tickets(built: Built) -> None:
    lines = built.stdout.splitlines()
    header = lines[0].split()
    assert header[0] == "id" and {"status", "priority", "summary"} <= set(header)
    table = itertools.takewhile(lambda line: re.match(r"[A-Z]+-\w+ ", line), lines[2:])
    open_ids = [line.split()[0] for line in table]  # then come the reports
    desk = Gitdesk(built.path)
    listed = json.loads(desk.ok("list", "--open", "--format", "json"))
    assert open_ids == [r["id"] for r in listed]
    assert 15 <= len(open_ids) <= 35
    assert "Demo desk built in" in built.stderr
    assert "Status by type" in built.stdout  # the summary report follows the list
    assert "Web server not rendering pages" not in built.stdout  # that story is over
    print(f"demo build: {built.seconds:.1f} s")


@pytest.mark.slow
def test_demo_has_about_fifty_tickets_of_every_type_and_state(built: Built) -> None:
    records = tickets(built.path)
    assert 40 <= len(records) <= 70
    types = Counter(r["type"] for r in records)
    assert set(types) == {"incident", "request", "problem", "change"}
    assert types["incident"] >= 20 and types["request"] >= 8
    assert types["problem"] >= 3 and types["change"] >= 6
    statuses = Counter(r["status"] for r in records)
    for status in ("new", "assigned", "in-progress", "pending", "resolved", "closed",
                   "cancelled", "waiting-for-approval", "rejected", "assess", "authorize",
                   "scheduled", "root-cause-analysis"):
        assert statuses[status], f"no ticket is {status}: {statuses}"
    assert {r["pending_reason"] for r in records if r["status"] == "pending"} >= {
        "awaiting-caller", "awaiting-vendor", "awaiting-problem", "awaiting-change"}
    assert {r["priority"] for r in records} == {"critical", "high", "medium", "low",
                                                "planning"}
    assert {(r["impact"], r["urgency"]) for r in records if r.get("impact")} == {
        (i, u) for i in ("high", "medium", "low") for u in ("high", "medium", "low")}
    assert {r.get("change_type") for r in records if r["type"] == "change"} == {
        "normal", "emergency", "standard"}
    assert {r.get("outcome") for r in records if r["status"] == "closed"
            and r["type"] == "change"} == {"successful", "backed-out"}
    assert all(r.get("request_type") for r in records if r["type"] == "request")


@pytest.mark.slow
def test_demo_has_a_reopened_ticket_still_open(built: Built) -> None:
    records = by_id(tickets(built.path))
    log = git(built.path, "log", "--format=%(trailers:key=Gitdesk-Ticket,valueonly)%x00"
              "%(trailers:key=Gitdesk-From,valueonly)%x00%(trailers:key=Gitdesk-To,valueonly)%x01")
    reopened = set()
    for entry in log.split("\x01"):
        parts = [p.strip() for p in entry.split("\x00")]
        if len(parts) == 3 and parts[1] in ("resolved", "closed") and parts[2] == "in-progress":
            reopened.add(parts[0])
    assert len(reopened) >= 2
    assert any(records[t]["status"] == "in-progress" for t in reopened)


@pytest.mark.slow
def test_demo_history_spans_about_sixty_days(built: Built) -> None:
    times = commit_times(built.path)
    assert len(times) > 150
    assert times == sorted(times), "commits are not in date order"
    assert 58 * DAY <= times[-1] - times[0] <= 61 * DAY
    assert times[-1] <= END.timestamp()
    assert END.timestamp() - times[-1] < DAY
    authors = set(git(built.path, "log", "--format=%an").splitlines())
    assert {"Maria Santos", "Hans Meier", "Zabbix Monitoring", "Carl Jensen"} <= authors


@pytest.mark.slow
def test_demo_tells_the_web01_story(built: Built) -> None:
    records = tickets(built.path)
    index = by_id(records)
    outages = [r for r in records if r["type"] == "incident" and r.get("ci") == "web01"
               and r["summary"] == "Web server not rendering pages"]
    assert len(outages) >= 3
    assert all(r["submitter"]["email"] == "monitoring@example.org" for r in outages)
    problems = [r for r in records if r["type"] == "problem" and r.get("ci") == "web01"]
    assert len(problems) == 1
    problem = problems[0]
    assert problem["workaround"] and problem["root_cause"] and problem["known_error"]
    assert any("orkaround" in n["text"] for n in problem["notes"])
    assert problem["status"] == "closed"
    causes = links(problem, "causes")
    assert {r["id"] for r in outages} <= causes
    assert all(problem["id"] in links(index[i], "caused-by") for i in causes)
    fixes = links(problem, "fixed-by")
    assert len(fixes) == 1
    rfc = index[fixes.pop()]
    assert rfc["type"] == "change" and rfc["change_type"] == "normal"
    assert problem["id"] in links(rfc, "fixes")
    assert rfc["status"] == "closed" and rfc["outcome"] == "successful"
    assert rfc["window"] and rfc["risk"] and rfc["backout_plan"]
    assert statuses(built.path, rfc["id"]) == [
        "new", "assess", "authorize", "scheduled", "implement", "review", "closed"]
    assert [(a["by"], a["group"], a["decision"]) for a in rfc["approvals"]] == [
        ("carl", "cab", "approved")]
    shown = Gitdesk(built.path).ok("show", rfc["id"])
    assert "carl approved for cab: valid" in shown
    assert "all approval levels are satisfied" in shown


@pytest.mark.slow
def test_demo_has_a_major_incident_escalated_twice(built: Built) -> None:
    records = tickets(built.path)
    major = [r for r in records if r.get("major")]
    assert len(major) == 1
    incident = major[0]
    assert incident["type"] == "incident" and incident["priority"] == "critical"
    assert incident["escalation"] == {"level": 2, "manager": "ruth"}
    ups = [(e["level"], e["to"]) for e in incident["events"]
           if e["kind"] == "hierarchic-escalation"]
    assert ups == [(1, "maria"), (2, "ruth")]
    fixes = [r for r in records if incident["id"] in links(r, "fixes")]
    assert [(r["change_type"], r["status"]) for r in fixes] == [("emergency", "closed")]
    assert [a["group"] for a in fixes[0]["approvals"]] == ["ecab"]
    assert any(e["kind"] == "functional-escalation" for r in records
               for e in r.get("events") or [])
    listed = json.loads(Gitdesk(built.path).ok("list", "--escalated", "--format", "json"))
    assert incident["id"] in {r["id"] for r in listed}


@pytest.mark.slow
def test_demo_has_open_and_closed_known_errors(built: Built) -> None:
    known = [r for r in tickets(built.path) if r["type"] == "problem" and r.get("known_error")]
    assert len(known) >= 2
    assert all(r["root_cause"] and r["workaround"] for r in known)
    still_open = [r for r in known if r["status"] not in ("closed", "cancelled")]
    assert [r["ci"] for r in still_open] == ["db01"]
    found = json.loads(Gitdesk(built.path).ok("kedb", "search", "sales dashboard empty",
                                               "--ci", "db01", "--format", "json"))
    assert found[0]["id"] == still_open[0]["id"]


@pytest.mark.slow
def test_demo_has_a_normal_and_an_emergency_change_colliding(built: Built) -> None:
    index = by_id(tickets(built.path))
    hits = json.loads(Gitdesk(built.path).ok("changes", "collisions", "--format", "json"))
    pairs = [(index[h["first"]], index[h["second"]], h) for h in hits]
    db02 = [(a, b, h) for a, b, h in pairs if "ci db02" in h["shared"]]
    assert len(db02) == 1
    first, second, hit = db02[0]
    assert {first["change_type"], second["change_type"]} == {"normal", "emergency"}
    assert hit["overlap_start"] < hit["overlap_end"]
    text = Gitdesk(built.path).ok("changes", "collisions")
    assert first["id"] in text and second["id"] in text
    normal, emergency = sorted((first, second), key=lambda r: r["change_type"] != "normal")
    # The upgrade has both levels (DBA and CAB) and is scheduled; the emergency
    # change has its DBA approval and waits for the ECAB.
    assert normal["status"] == "scheduled"
    assert sorted((a["by"], a["group"]) for a in normal["approvals"]) == [
        ("carl", "cab"), ("omar", "dba")]
    assert emergency["status"] == "authorize"
    assert [(a["by"], a["group"]) for a in emergency["approvals"]] == [("omar", "dba")]
    shown = Gitdesk(built.path).ok("show", emergency["id"])
    assert "omar approved for dba: valid" in shown
    assert "missing: needs 1 approval(s) from group ecab" in shown


@pytest.mark.slow
def test_demo_policy_has_the_template_rules_and_the_approvers_keys(built: Built) -> None:
    policy = plain(yamlio.load((built.path / ".gitdesk/policy.yaml").read_bytes(), "p"))
    template = plain(yamlio.load(template_file("itil", "policy.yaml"), "p"))
    assert policy["rules"] == template["rules"]
    assert {pid for pid, p in policy["people"].items() if p["keys"]} == SIGNERS
    folder = built.path / ".git" / "gitdesk" / "demo-keys"
    for pid in SIGNERS:
        public = (folder / f"{pid}.pub").read_text().split()
        assert policy["people"][pid]["keys"] == [f"{public[0]} {public[1]}"]
        assert (folder / pid).stat().st_mode & 0o077 == 0
    assert policy["groups"]["network"]["escalation"] == ["maria", "ruth"]
    # The policy is in the first commit, where trust starts, and never changes.
    assert git(built.path, "log", "--format=%H", "--", ".gitdesk").split() == \
        git(built.path, "rev-list", "--max-parents=0", "HEAD").split()
    # Signing was configured through the environment only.
    local = git(built.path, "config", "--local", "--list").lower()
    assert "signingkey" not in local and "gpg." not in local
    assert "signingkey" not in built.gitconfig.lower()


@pytest.mark.slow
def test_demo_approvals_are_signed_and_verified(built: Built) -> None:
    records = tickets(built.path)
    entries = [(r["id"], a) for r in records for a in r.get("approvals") or []]
    assert {a["by"] for _tid, a in entries} == SIGNERS
    assert {a["decision"] for _tid, a in entries} == {"approved", "rejected"}
    log = git(built.path, "log", "--format=%H %(trailers:key=Gitdesk-Approval,valueonly,"
                                 "separator=)")
    signed = [line.split() for line in log.splitlines() if len(line.split()) == 2]
    assert len(signed) == len(entries)
    for oid, _decision in signed:
        raw = git(built.path, "cat-file", "-p", oid)
        assert "\ngpgsig -----BEGIN SSH SIGNATURE-----" in raw, oid
    # Every normal or emergency change that got to `scheduled` was approved
    # for each level the policy asks (verify would refuse the move otherwise).
    gated = [r for r in records if r["type"] == "change"
             and r["change_type"] in ("normal", "emergency")
             and "scheduled" in statuses(built.path, r["id"])]
    assert len(gated) >= 5
    for record in gated:
        assert any(a["decision"] == "approved" for a in record["approvals"]), record["id"]
    result = Gitdesk(built.path)("verify")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "all rules hold" in result.stderr


@pytest.mark.slow
def test_demo_has_a_change_rejected_once(built: Built) -> None:
    records = tickets(built.path)
    erp = one(records, "ERP erp01: upgrade")
    assert [(a["by"], a["decision"]) for a in erp["approvals"]] == [
        ("carl", "rejected"), ("carl", "approved")]
    assert statuses(built.path, erp["id"]) == [
        "new", "assess", "authorize", "new", "assess", "authorize", "scheduled", "implement",
        "review", "closed"]
    assert any(n["text"].startswith("Rejected: CAB") for n in erp["notes"])
    shown = Gitdesk(built.path).ok("show", erp["id"])
    assert "carl rejected for cab: superseded by a later decision" in shown
    assert "carl approved for cab: valid" in shown


@pytest.mark.slow
def test_demo_has_requests_waiting_for_approval(built: Built) -> None:
    records = tickets(built.path)
    desk = Gitdesk(built.path)
    waiting = [r for r in records if r["status"] == "waiting-for-approval"]
    assert len(waiting) >= 2
    visio = one(waiting, "Install Visio")
    assert not visio.get("approvals")
    assert "missing: needs 1 approval(s) from group managers" in desk.ok("show", visio["id"])
    laptop = one(waiting, "New laptop for the new starter")
    shown = desk.ok("show", laptop["id"])
    assert "maria approved for managers: valid" in shown
    assert "missing: needs 1 approval(s) from group procurement (has 0); ask: felix" in shown
    rejected = one(records, "Install a personal VPN client")
    assert rejected["status"] == "rejected"
    assert [a["decision"] for a in rejected["approvals"]] == ["rejected"]
    done = one(records, "Install Microsoft Project")
    assert done["status"] == "closed" and "approved" in statuses(built.path, done["id"])


@pytest.mark.slow
def test_demo_desk_is_healthy(built: Built) -> None:
    result = Gitdesk(built.path)("doctor")
    assert result.exit_code == 0, result.stdout + result.stderr
    invoked = CliRunner().invoke(cli, ["--repo", str(built.path), "doctor"])
    assert invoked.exit_code == 0, invoked.stdout
    fsck(built.path)
    assert git(built.path, "status", "--porcelain") == ""


@pytest.mark.slow
def test_demo_is_reproducible(built: Built, tmp_path: Path) -> None:
    again = tmp_path / "again"
    demo.build(again, until=END)

    def summary(path: Path) -> list[tuple[str, ...]]:
        return sorted((r["type"], r["summary"], r["status"], str(r.get("priority")),
                       str(r.get("assignee")), str(r.get("ci")), r["created"],
                       str([(a["by"], a["decision"], a["at"]) for a in r.get("approvals") or []]),
                       str(r.get("escalation")))
                      for r in tickets(path))

    assert summary(again) == summary(built.path)
    assert commit_times(again) == commit_times(built.path)


def test_demo_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine\n")
    result = CliRunner().invoke(cli, ["demo", str(tmp_path), "--until", UNTIL])
    assert result.exit_code == 2
    assert "not empty" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_a_failing_step_stops_the_build(tmp_path: Path) -> None:
    scenario = scenario_file.load_scenario()
    scenario["steps"] = [*scenario["steps"][:1],
                         {"day": 57, "as": "hans", "run": "close $inc1 --code bogus"}]
    scenario.pop("background")
    with pytest.raises(GitdeskError) as caught:
        demo.build(tmp_path / "desk", until=END, scenario=scenario)
    text = str(caught.value)
    assert "steps[1]" in text and "cannot move from new to closed" in text


MINI = {
    "start": {"day": 2, "time": "08:00"},
    "admin": "ann",
    "people": {"ann": {"name": "Ann Admin", "email": "ann@example.org"},
               "bob": {"name": "Bob Builder", "email": "bob@example.org"}},
    "groups": {"servers": {"members": ["bob"], "manager": "ann"}},
}


def test_the_timeline_ends_before_until_and_dates_are_substituted(tmp_path: Path) -> None:
    scenario = {**MINI, "steps": [
        {"day": 0, "time": "15:00", "as": "bob", "save": "chg", "run":
         'open change -s "Patch app01 (costs $$0)" --change-type normal --ci app01'},
        {"day": 0, "time": "15:05", "as": "bob", "run": "set $chg window={{day -1 22:00}}/2h"},
        {"day": 1, "time": "10:00", "as": "ann", "run": "open incident -s Early"},
    ]}
    # 09:00 on the last day is before its 15:00 step: the timeline moves back a day.
    demo.build(tmp_path / "desk", until=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
               scenario=scenario)
    records = sorted(tickets(tmp_path / "desk"), key=lambda r: r["created"])
    assert [r["created"] for r in records] == ["2026-11-18T10:00:00Z", "2026-11-19T15:00:00Z"]
    change = records[1]
    assert change["summary"] == "Patch app01 (costs $0)"
    assert change["window"] == {"start": "2026-11-20T22:00:00Z", "end": "2026-11-21T00:00:00Z"}
    log = git(tmp_path / "desk", "log", "--reverse", "--format=%an %aI")
    assert log.splitlines() == ["Ann Admin 2026-11-17T08:00:00+00:00",
                                "Ann Admin 2026-11-18T10:00:00+00:00",
                                "Bob Builder 2026-11-19T15:00:00+00:00",
                                "Bob Builder 2026-11-19T15:05:00+00:00"]


def test_signing_is_set_up_through_the_environment_after_the_callers_settings(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.abbrev")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "12")
    key = tmp_path / "key"
    assert demo._signing_env(key) == {
        "GIT_CONFIG_COUNT": "3", "GIT_CONFIG_KEY_1": "gpg.format", "GIT_CONFIG_VALUE_1": "ssh",
        "GIT_CONFIG_KEY_2": "user.signingkey", "GIT_CONFIG_VALUE_2": str(key)}
    person = {"name": "Bob Builder", "email": "bob@example.org"}
    with demo._as(person, END, key):
        assert os.environ["GIT_CONFIG_COUNT"] == "3"
    assert os.environ["GIT_CONFIG_COUNT"] == "1"
    assert "GIT_CONFIG_KEY_1" not in os.environ and "GIT_AUTHOR_NAME" not in os.environ


def test_an_unsaved_name_is_an_error(tmp_path: Path) -> None:
    scenario = {**MINI, "steps": [{"day": 1, "as": "bob", "run": "note $nope -m hello"}]}
    with pytest.raises(GitdeskError, match=r"\$nope is not saved by an earlier step"):
        demo.build(tmp_path / "desk", until=END, scenario=scenario)
