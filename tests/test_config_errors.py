"""A broken desk config (committed with plain git) is refused by `doctor` and by every
command, naming the file, the key and the reason; nothing is committed."""

from __future__ import annotations

import json

import pytest

from support.cli import Gitdesk, head

CONFIG = ".gitdesk/config.yaml"

# kind -> (text in the template, its broken replacement, key named, reason given)
BREAKAGES = {
    "transition-to-unknown-state": (
        "      new: [assigned, in-progress, pending, resolved, cancelled]\n",
        "      new: [assigned, in-progress, pending, resolved, cancelled, limbo]\n",
        "workflows.incident.transitions.new", "unknown state 'limbo'"),
    "matrix-misses-a-cell": (
        "  medium: {high: high, medium: medium, low: low}\n",
        "  medium: {high: high, medium: medium}\n",
        "priority_matrix.medium", "missing cell for urgency 'low'"),
    "field-default-not-in-its-list": (
        "        values: [one, several, department, everyone]\n        default: one\n",
        "        values: [one, several, department, everyone]\n        default: lots\n",
        "types.incident.fields.0.default",
        "default 'lots' is not one of: one, several, department, everyone"),
}


def commit_config(desk: Gitdesk, text: str, message: str) -> None:
    (desk.path / CONFIG).write_text(text)
    desk.git("add", CONFIG)
    desk.git("commit", "-q", "-m", message)


def break_config(desk: Gitdesk, kind: str) -> tuple[str, str]:
    good, bad, key, reason = BREAKAGES[kind]
    text = (desk.path / CONFIG).read_text()
    assert text.count(good) >= 1, f"the template changed: {good!r} not found"
    commit_config(desk, text.replace(good, bad, 1), f"break the config: {kind}")
    return key, reason


def tickets(desk: Gitdesk) -> dict[str, str]:
    return {
        "inc": desk.open("incident", "-s", "Web down", "--ci", "web01"),
        "chg": desk.open("change", "-s", "Patch web01", "--cis", "web01",
                         "--window", "2026-12-01T22:00:00Z/1h"),
        "prb": desk.open("problem", "-s", "Leaky httpd", "--ci", "web01"),
    }


def ticket_commands(ids: dict[str, str]) -> list[tuple[str, ...]]:
    inc, chg, prb = ids["inc"], ids["chg"], ids["prb"]
    return [
        ("list",), ("list", "--where", "status = new"), ("show", inc),
        ("show", inc, "--format", "json"), ("history", inc),
        ("open", "incident", "-s", "Another"), ("note", inc, "-m", "Looking"),
        ("set", inc, "urgency=high"), ("assign", inc, "test"),
        ("transition", inc, "in-progress"), ("resolve", inc, "--code", "fixed", "-m", "ok"),
        ("link", inc, "caused-by", prb), ("escalate", inc, "--to", "servers", "-m", "x"),
        ("risk", chg, "--answer", "outage=no", "--answer", "untested=no", "--answer",
         "no-backout=no", "--answer", "many-users=no", "--answer", "vendor=no"),
    ]


def view_commands() -> list[tuple[str, ...]]:
    return [("ci", "web01"), ("catalog",), ("kedb", "search", "httpd"),
            ("problems", "suggest"), ("changes", "calendar"),
            ("changes", "calendar", "--format", "ics"), ("changes", "collisions")]


def misbehaving(desk: Gitdesk, commands: list[tuple[str, ...]], key: str,
                reason: str) -> list[str]:
    """Commands that did not refuse with the file, key and reason (and commit nothing)."""
    wrong = []
    before = head(desk)
    for command in commands:
        run = desk(*command)
        if run.exit_code == 0:
            wrong.append(f"{' '.join(command)}: exit 0")
        elif not all(text in run.stderr for text in (CONFIG, key, reason)):
            wrong.append(f"{' '.join(command)}: exit {run.exit_code} without "
                         f"{CONFIG}/{key}/{reason}: {run.stderr!r}")
        if head(desk) != before:
            wrong.append(f"{' '.join(command)}: committed")
            before = head(desk)
    return wrong


@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_doctor_names_file_key_and_reason(desk: Gitdesk, kind: str) -> None:
    desk.ok("doctor")
    tickets(desk)
    key, reason = break_config(desk, kind)
    run = desk("doctor")
    assert run.exit_code == 1
    finding = next(line for line in run.stdout.splitlines() if key in line)
    assert finding.startswith(f"{CONFIG}: line ")
    assert f"{key}: {reason}" in finding
    assert "tickets not checked" in run.stdout
    assert "problem(s) found" in run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_ticket_commands_refuse_a_broken_config(desk: Gitdesk, kind: str) -> None:
    ids = tickets(desk)
    desk.ok("list")  # an index built from the good config must not hide the breakage
    key, reason = break_config(desk, kind)
    assert misbehaving(desk, ticket_commands(ids), key, reason) == []


@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_view_commands_refuse_a_broken_config(desk: Gitdesk, kind: str) -> None:
    tickets(desk)
    key, reason = break_config(desk, kind)
    assert misbehaving(desk, view_commands(), key, reason) == []


def test_repairing_the_config_brings_the_desk_back(desk: Gitdesk) -> None:
    ids = tickets(desk)
    good = (desk.path / CONFIG).read_text()
    break_config(desk, "transition-to-unknown-state")
    assert desk("list").exit_code == 1
    assert desk("open", "incident", "-s", "x").exit_code == 1
    commit_config(desk, good, "repair the config")
    desk.ok("doctor")
    rows = json.loads(desk.ok("list", "--format", "json"))
    assert sorted(r["id"] for r in rows) == sorted(ids.values())
    assert {r["id"] for r in json.loads(desk.ok("ci", "web01", "--format", "json"))} == \
        set(ids.values())
    desk.ok("transition", ids["inc"], "in-progress")


def test_a_config_that_does_not_parse_is_refused(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "x")
    commit_config(desk, "version: 1\ntypes: [unclosed\n", "garbage")
    for command in (("doctor",), ("show", tid), ("list",), ("open", "incident", "-s", "y")):
        before = head(desk)
        run = desk(*command)
        assert run.exit_code == 1, command
        assert CONFIG in run.stdout + run.stderr, command
        assert head(desk) == before
