"""The README's walk through an incident, each action one commit."""

from __future__ import annotations

import json

from support.cli import Gitdesk


def test_incident_life_cycle_one_commit_per_action(desk: Gitdesk) -> None:
    start = desk.commits()
    tid = desk.open("incident", "-s", "Web server not rendering pages", "--impact", "high",
                    "--urgency", "high", "--ci", "web01", "--category", "Network",
                    "--submitter", "Hans <hans@example.org>")
    assert tid.startswith("INC-") and len(tid) == 12
    steps = [
        ("assign", tid, "test", "--group", "network"),
        ("note", tid, "-m", "Restarted httpd, pages render again"),
        ("transition", tid, "in-progress"),
        ("resolve", tid, "--code", "workaround", "-m", "Service restarted"),
        ("close", tid),
    ]
    for n, step in enumerate(steps, start=2):
        desk.ok(*step)
        assert desk.commits() == start + n
    data = json.loads(desk.ok("show", tid, "--format", "json"))
    assert data["status"] == "closed"
    assert data["priority"] == "critical"
    assert data["resolution_code"] == "workaround"
    assert data["submitter"] == {"name": "Hans", "email": "hans@example.org"}
    assert [n["text"] for n in data["notes"]] == ["Restarted httpd, pages render again",
                                                  "Service restarted"]
    history = desk.ok("history", tid, "--format", "json")
    actions = [row["action"] for row in json.loads(history)]
    assert actions[0] == "open" and "transition" in actions
    assert desk.git("status", "--porcelain") == ""


def test_refused_transition_writes_nothing(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Printer jammed")
    before = desk.git("rev-parse", "HEAD")
    result = desk("close", tid)
    assert result.exit_code == 1
    assert "cannot move from new to closed" in result.stderr
    assert "allows: assigned, in-progress, pending, resolved, cancelled" in result.stderr
    result = desk("resolve", tid, "-m", "done")
    assert result.exit_code == 1 and "--code" in result.stderr
    assert desk.git("rev-parse", "HEAD") == before
