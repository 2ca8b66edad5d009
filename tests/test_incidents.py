"""Incident management through the CLI: priority, severity, major, pending, resolving,
escalation (functional and hierarchic), parent and child incidents, a CI's history."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from support.cli import Gitdesk, data, open_at, refused

POLICY = """\
version: 1
people:
  test: {name: Test User, email: test@example.org}
  nina: {name: Nina Network, email: nina@example.org}
  sam: {name: Sam Servers, email: sam@example.org}
  mia: {name: Mia Manager, email: mia@example.org}
  max: {name: Max Director, email: max@example.org}
groups:
  service-desk: {members: [test], manager: mia}
  network: {members: [nina], manager: mia, escalation: [mia, max]}
  servers: {members: [sam], manager: max}
  dba: {members: []}
  managers: {members: [test, mia], manager: max}
  procurement: {members: [max]}
  cab: {members: [test, mia]}
  ecab: {members: [test]}
admins: [test]
rules: []
"""


@pytest.fixture
def team(desk: Gitdesk) -> Gitdesk:
    """The desk with a policy that has several people, groups, managers and a chain."""
    (desk.path / ".gitdesk" / "policy.yaml").write_text(POLICY)
    desk.git("add", ".gitdesk/policy.yaml")
    desk.git("commit", "-q", "-m", "policy: the team")
    return desk



def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def escalation_history(desk: Gitdesk, tid: str) -> str:
    """What `history` says about the ticket's escalate commits, in order."""
    rows = json.loads(desk.ok("history", tid, "--format", "json"))
    trail = [r for r in rows if r["action"] == "escalate"]
    assert trail, "history shows no escalate action"
    return "\n".join(f"{r['field']}: {r['old']} -> {r['new']}" for r in trail)


def changed_files(desk: Gitdesk) -> set[str]:
    out = desk.git("show", "--name-only", "--format=", "HEAD")
    return {line for line in out.splitlines() if line}


# --- impact, urgency, priority, severity, major -------------------------------------------

@pytest.mark.parametrize(("impact", "urgency", "priority", "target"), [
    ("high", "high", "critical", timedelta(hours=1)),
    ("high", "medium", "high", timedelta(hours=8)),
    ("medium", "medium", "medium", timedelta(hours=24)),
    ("medium", "low", "low", timedelta(hours=48)),
    ("low", "high", "medium", timedelta(hours=24)),
    ("low", "low", "planning", None),
])
def test_priority_is_derived_from_impact_and_urgency(desk: Gitdesk, impact: str, urgency: str,
                                                     priority: str,
                                                     target: timedelta | None) -> None:
    tid = desk.open("incident", "-s", "Matrix", "--impact", impact, "--urgency", urgency)
    ticket = data(desk, tid)
    assert ticket["impact"] == impact and ticket["urgency"] == urgency
    assert ticket["priority"] == priority
    assert "priority_override" not in ticket
    if target is None:
        assert ticket.get("due") is None
    else:
        assert parse(ticket["due"]) - parse(ticket["created"]) == target


def test_explicit_priority_overrides_matrix_and_set_rederives(desk: Gitdesk) -> None:
    pinned = desk.open("incident", "-s", "Pinned", "--impact", "high", "--urgency", "high",
                       "--priority", "low")
    assert data(desk, pinned)["priority"] == "low"
    assert data(desk, pinned)["priority_override"] is True
    desk.ok("set", pinned, "urgency=low")
    assert data(desk, pinned)["priority"] == "low"

    derived = desk.open("incident", "-s", "Derived", "--impact", "high", "--urgency", "low")
    assert data(desk, derived)["priority"] == "medium"
    desk.ok("set", derived, "urgency=high")
    ticket = data(desk, derived)
    assert ticket["priority"] == "critical"
    assert parse(ticket["due"]) - parse(ticket["created"]) == timedelta(hours=1)


def test_severity_and_major_flag(desk: Gitdesk) -> None:
    major = desk.open("incident", "-s", "Everything is down", "--major", "--severity", "sev1",
                      "--impact", "high", "--urgency", "high")
    minor = desk.open("incident", "-s", "One printer", "--severity", "sev4")
    ticket = data(desk, major)
    assert ticket["major"] is True and ticket["severity"] == "sev1"
    assert "major" not in data(desk, minor)
    shown = desk.ok("show", major)
    assert "major incident" in shown and "yes" in shown.split("major incident")[1].split("\n")[0]
    assert "sev1" in shown
    listed = json.loads(desk.ok("list", "--where", "major = true", "--format", "json"))
    assert [r["id"] for r in listed] == [major]
    desk.ok("set", major, "major=no")
    assert data(desk, major)["major"] is False
    desk.ok("set", minor, "major=yes", "severity=sev2")
    assert data(desk, minor)["major"] is True and data(desk, minor)["severity"] == "sev2"


@pytest.mark.parametrize(("flag", "value"), [
    ("--impact", "huge"), ("--urgency", "yesterday"), ("--severity", "sev9"),
    ("--priority", "urgent"),
])
def test_values_outside_the_configured_lists_are_refused(desk: Gitdesk, flag: str,
                                                         value: str) -> None:
    refused(desk, "open", "incident", "-s", "Bad", flag, value, code=2,
            says=(flag, repr(value), "is not one of"))


def test_set_major_needs_a_boolean(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "x")
    refused(desk, "set", tid, "major=perhaps", code=2, says=("major", "true or false"))


# --- pending with a reason ----------------------------------------------------------------

@pytest.mark.parametrize("reason", ["awaiting-caller", "awaiting-vendor", "awaiting-change",
                                    "awaiting-problem"])
def test_pending_with_a_configured_reason(desk: Gitdesk, reason: str) -> None:
    tid = desk.open("incident", "-s", "Waiting")
    desk.ok("transition", tid, "pending", "--reason", reason, "-m", "Asked")
    ticket = data(desk, tid)
    assert ticket["status"] == "pending" and ticket["pending_reason"] == reason
    assert reason in desk.ok("show", tid)
    desk.ok("transition", tid, "in-progress")
    ticket = data(desk, tid)
    assert ticket["status"] == "in-progress" and "pending_reason" not in ticket


def test_pending_without_a_reason_is_refused(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Waiting")
    refused(desk, "transition", tid, "pending", code=1,
            says=("pending requires pending_reason", "--reason"))
    assert data(desk, tid)["status"] == "new"


def test_pending_with_an_unknown_reason_is_refused(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Waiting")
    refused(desk, "transition", tid, "pending", "--reason", "awaiting-godot", code=2,
            says=("--reason", "'awaiting-godot'", "awaiting-caller", "awaiting-vendor",
                  "awaiting-change", "awaiting-problem"))


# --- resolving ------------------------------------------------------------------------------

def test_resolving_records_code_and_solution(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Mail down")
    desk.ok("resolve", tid, "--code", "configuration-change", "-m", "Fixed the MX record")
    ticket = data(desk, tid)
    assert ticket["status"] == "resolved"
    assert ticket["resolution_code"] == "configuration-change"
    assert ticket["solution"] == "Fixed the MX record"
    shown = desk.ok("show", tid)
    assert "configuration-change" in shown and "Fixed the MX record" in shown
    desk.ok("reopen", tid, "-m", "Back again")
    ticket = data(desk, tid)
    assert ticket["status"] == "in-progress"
    assert "resolution_code" not in ticket and "solution" not in ticket


def test_resolving_without_code_or_solution_is_refused(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Mail down")
    refused(desk, "resolve", tid, "-m", "done", code=1, says=("resolution code", "--code"))
    refused(desk, "resolve", tid, "--code", "fixed", code=1, says=("-m TEXT",))
    refused(desk, "resolve", tid, "--code", "magic", "-m", "done", code=1,
            says=("'magic' is not a resolution code", "workaround", "no-fault-found"))
    assert data(desk, tid)["status"] == "new"


# --- functional escalation --------------------------------------------------------------------

def test_functional_escalation_reassigns_and_keeps_the_trail(team: Gitdesk) -> None:
    tid = team.open("incident", "-s", "Site slow", "--group", "network")
    before = team.commits()
    run = team("escalate", tid, "--to", "servers", "-m", "Not the network")
    run.ok()
    assert team.commits() == before + 1
    ticket = data(team, tid)
    assert ticket["group"] == "servers"
    [event] = ticket["events"]
    assert event["kind"] == "functional-escalation"
    assert event["from"] == "network" and event["to"] == "servers"
    assert event["by"] == "test" and event["text"] == "Not the network"
    team.ok("escalate", tid, "--to", "dba", "-m", "Database after all")
    ticket = data(team, tid)
    assert ticket["group"] == "dba"
    assert [(e["from"], e["to"]) for e in ticket["events"]] == [("network", "servers"),
                                                               ("servers", "dba")]
    shown = team.ok("show", tid)
    trail = shown.split("Escalations:")[1]
    assert "to group servers (from network): Not the network" in trail
    assert "to group dba (from servers): Database after all" in trail
    assert trail.index("servers (from network)") < trail.index("dba (from servers)")
    trail_text = escalation_history(team, tid)
    assert "network" in trail_text and "servers" in trail_text and "dba" in trail_text
    assert trail_text.index("Not the network") < trail_text.index("Database after all")


def test_functional_escalation_of_an_assigned_ticket_needs_the_new_assignee(
        team: Gitdesk) -> None:
    tid = team.open("incident", "-s", "Switch port dead")
    team.ok("assign", tid, "nina", "--group", "network")
    assert data(team, tid)["status"] == "assigned"
    refused(team, "escalate", tid, "--to", "servers", "-m", "Server NIC", code=1,
            says=("needs an assignee", "--assignee", "members of servers: sam"))
    team.ok("escalate", tid, "--to", "servers", "--assignee", "sam", "-m", "Server NIC")
    ticket = data(team, tid)
    assert ticket["status"] == "assigned"
    assert ticket["group"] == "servers" and ticket["assignee"] == "sam"
    assert ticket["events"][0]["from"] == "network"


def test_functional_escalation_clears_the_old_assignee(team: Gitdesk) -> None:
    tid = team.open("incident", "-s", "VPN flaky", "--group", "network", "--assignee", "nina")
    assert data(team, tid)["status"] == "new"
    team.ok("escalate", tid, "--to", "servers", "-m", "VPN concentrator is a server")
    ticket = data(team, tid)
    assert ticket["group"] == "servers" and "assignee" not in ticket


@pytest.mark.parametrize(("args", "code", "says"), [
    (("--to", "nowhere", "-m", "x"), 2, ("--to: 'nowhere' is not a group", "servers")),
    (("--to", "network", "-m", "x"), 1, ("already with group network",)),
    (("--to", "servers", "--assignee", "ghost", "-m", "x"), 2,
     ("'ghost' is not a member of servers",)),
    (("--to", "servers", "--up", "-m", "x"), 2, ("exactly one of --to GROUP",)),
    (("-m", "x"), 2, ("exactly one of --to GROUP",)),
    (("--to", "servers", "-m", "   "), 2, ("-m TEXT",)),
    (("--to", "servers"), 2, ("-m",)),
])
def test_escalation_refusals(team: Gitdesk, args: tuple[str, ...], code: int,
                             says: tuple[str, ...]) -> None:
    tid = team.open("incident", "-s", "x", "--group", "network")
    refused(team, "escalate", tid, *args, code=code, says=says)
    assert "events" not in data(team, tid)


# --- hierarchic escalation --------------------------------------------------------------------

def test_hierarchic_escalation_follows_the_groups_chain(team: Gitdesk) -> None:
    tid = team.open("incident", "-s", "Core router down", "--group", "network")
    team.ok("escalate", tid, "--up", "-m", "Outage beyond 1 h")
    ticket = data(team, tid)
    assert ticket["escalation"] == {"level": 1, "manager": "mia"}
    team.ok("escalate", tid, "--up", "-m", "Customer-facing")
    ticket = data(team, tid)
    assert ticket["escalation"] == {"level": 2, "manager": "max"}
    assert ticket["group"] == "network"
    assert [(e["kind"], e["level"], e["to"], e["text"]) for e in ticket["events"]] == [
        ("hierarchic-escalation", 1, "mia", "Outage beyond 1 h"),
        ("hierarchic-escalation", 2, "max", "Customer-facing")]
    shown = team.ok("show", tid)
    assert "level 2, manager max" in shown
    trail = shown.split("Escalations:")[1]
    assert "level 1 to mia: Outage beyond 1 h" in trail
    assert "level 2 to max: Customer-facing" in trail
    trail_text = escalation_history(team, tid)
    assert trail_text.index("mia") < trail_text.index("Outage beyond 1 h") \
        < trail_text.index("max") < trail_text.index("Customer-facing")


def test_hierarchic_escalation_goes_to_the_groups_manager(team: Gitdesk) -> None:
    tid = team.open("incident", "-s", "Disk array degraded", "--group", "servers")
    team.ok("escalate", tid, "--up", "-m", "Second disk failing")
    assert data(team, tid)["escalation"] == {"level": 1, "manager": "max"}
    other = team.open("incident", "-s", "Password resets failing", "--group", "service-desk")
    team.ok("escalate", other, "--up", "-m", "Queue growing")
    assert data(team, other)["escalation"] == {"level": 1, "manager": "mia"}


def test_hierarchic_escalation_without_group_or_manager_is_refused(team: Gitdesk) -> None:
    loose = team.open("incident", "-s", "Nobody's ticket")
    refused(team, "escalate", loose, "--up", "-m", "help", code=1,
            says=("no assignment group", "--group"))
    orphan = team.open("incident", "-s", "DB slow", "--group", "dba")
    refused(team, "escalate", orphan, "--up", "-m", "help", code=1,
            says=("group dba names no manager", "escalation"))
    assert "escalation" not in data(team, orphan)


def test_list_escalated_finds_escalated_tickets(team: Gitdesk) -> None:
    up = team.open("incident", "-s", "Up", "--group", "network")
    over = team.open("incident", "-s", "Over", "--group", "network")
    team.open("incident", "-s", "Calm", "--group", "network")
    team.ok("escalate", up, "--up", "-m", "Manager please")
    team.ok("escalate", over, "--to", "servers", "-m", "Yours")
    listed = json.loads(team.ok("list", "--escalated", "--format", "json"))
    assert sorted(r["id"] for r in listed) == sorted([up, over])
    assert len(json.loads(team.ok("list", "--format", "json"))) == 3


# --- parent and child incidents ---------------------------------------------------------------

def test_resolving_a_parent_resolves_its_open_children_in_one_commit(desk: Gitdesk) -> None:
    parent = desk.open("incident", "-s", "Core switch failed", "--major")
    fresh = desk.open("incident", "-s", "Floor 1 offline")
    waiting = desk.open("incident", "-s", "Floor 2 offline")
    done = desk.open("incident", "-s", "Floor 3 offline")
    gone = desk.open("incident", "-s", "Floor 4 offline")
    unrelated = desk.open("incident", "-s", "Printer jam")
    for child in (fresh, waiting, done, gone):
        desk.ok("link", child, "parent", parent)
    assert {"rel": "child", "id": fresh} in data(desk, parent)["links"]
    assert {"rel": "parent", "id": parent} in data(desk, fresh)["links"]
    desk.ok("transition", waiting, "pending", "--reason", "awaiting-vendor")
    desk.ok("resolve", done, "--code", "no-fault-found", "-m", "Was fine")
    desk.ok("close", done)
    desk.ok("cancel", gone)
    untouched = {tid: data(desk, tid) for tid in (done, gone, unrelated)}

    before = desk.commits()
    desk.ok("resolve", parent, "--code", "hardware-repair", "-m", "Replaced the switch")
    assert desk.commits() == before + 1
    files = changed_files(desk)
    assert len(files) == 3
    assert {f.rsplit("/", 1)[1] for f in files} == {f"{t}.yaml" for t in (parent, fresh, waiting)}
    message = desk.git("log", "-1", "--format=%B")
    assert f"Gitdesk-Child-Resolved: {fresh}" in message
    assert f"Gitdesk-Child-Resolved: {waiting}" in message

    assert data(desk, parent)["status"] == "resolved"
    for child in (fresh, waiting):
        ticket = data(desk, child)
        assert ticket["status"] == "resolved"
        assert ticket["resolution_code"] == "hardware-repair"
        assert parent in ticket["solution"]
        assert "pending_reason" not in ticket
        assert any(parent in note["text"] for note in ticket["notes"])
    for tid, old in untouched.items():
        assert data(desk, tid) == old


def test_refused_parent_resolution_leaves_children_alone(desk: Gitdesk) -> None:
    parent = desk.open("incident", "-s", "Parent")
    child = desk.open("incident", "-s", "Child")
    desk.ok("link", child, "parent", parent)
    refused(desk, "resolve", parent, "-m", "no code", code=1, says=("--code",))
    assert data(desk, child)["status"] == "new"


# --- a CI's history -----------------------------------------------------------------------------

def test_ci_lists_every_ticket_type_naming_the_ci_newest_first(desk: Gitdesk) -> None:
    change = open_at(desk, "2026-03-04T10:00:00+0000", "change", "-s", "Patch web01",
                     "--cis", "db01,web01")
    oldest = open_at(desk, "2026-03-01T10:00:00+0000", "incident", "-s", "Pages blank",
                     "--ci", "web01")
    problem = open_at(desk, "2026-03-03T10:00:00+0000", "problem", "-s", "httpd leaks",
                      "--ci", "WEB01")
    request = open_at(desk, "2026-03-02T10:00:00+0000", "request", "-s", "Install agent",
                      "--request-type", "software-install", "--ci", "web01")
    open_at(desk, "2026-03-05T10:00:00+0000", "incident", "-s", "Other box", "--ci", "web012")
    open_at(desk, "2026-03-06T10:00:00+0000", "incident", "-s", "No CI")
    rows = json.loads(desk.ok("ci", "web01", "--format", "json"))
    assert [r["id"] for r in rows] == [change, problem, request, oldest]
    assert [r["type"] for r in rows] == ["change", "problem", "request", "incident"]
    table = desk.ok("ci", "WEB01")
    assert all(tid in table for tid in (change, problem, request, oldest))
    assert "Other box" not in table and "No CI" not in table
    assert json.loads(desk.ok("ci", "db01", "--format", "json"))[0]["id"] == change
    assert json.loads(desk.ok("ci", "nothing-here", "--format", "json")) == []


def test_backdated_open_sets_created(desk: Gitdesk) -> None:
    tid = open_at(desk, "2026-03-01T10:00:00+0000", "incident", "-s", "Old")
    assert data(desk, tid)["created"] == "2026-03-01T10:00:00Z"
