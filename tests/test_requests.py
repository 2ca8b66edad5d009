"""Service request fulfilment: the catalog, opening requests from it, the approval path;
approval levels and shortfalls as library unit tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from gitdesk.actions.init import template_file
from gitdesk.domain.approvals import content_hash, current_approvers, required_levels, shortfalls
from gitdesk.domain.catalog import Level
from gitdesk.domain.config import DeskConfig, Group, Policy
from gitdesk.verify.configs import parse_config, parse_policy
from gitdesk.verify.files import Rules, check_change
from support.cli import Gitdesk, data, refused

POLICY = """\
version: 1
people:
  test: {name: Test User, email: test@example.org}
  mia: {name: Mia Manager, email: mia@example.org}
  max: {name: Max Buyer, email: max@example.org}
  nina: {name: Nina Network, email: nina@example.org}
groups:
  service-desk: {members: [test], manager: mia}
  network: {members: [nina], manager: mia}
  servers: {members: [], manager: mia}
  dba: {members: []}
  managers: {members: [test, mia], manager: mia}
  procurement: {members: [max]}
  cab: {members: [test]}
  ecab: {members: [test]}
admins: [test]
rules: []
"""



def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def commit_file(desk: Gitdesk, path: str, text: str) -> None:
    (desk.path / path).write_text(text)
    desk.git("add", path)
    desk.git("commit", "-q", "-m", f"edit {path}")


# --- the catalog --------------------------------------------------------------------------------

def test_catalog_lists_the_request_types(desk: Gitdesk) -> None:
    rows = {r["request_type"]: r for r in json.loads(desk.ok("catalog", "--format", "json"))}
    assert list(rows) == ["password-reset", "software-install", "new-laptop",
                          "firewall-opening"]
    assert rows["password-reset"] == {
        "request_type": "password-reset", "name": "Password reset", "group": "service-desk",
        "target": "4h", "approvals": "pre-approved", "required": "submitter",
        "description": "Reset a forgotten or expired password"}
    assert rows["new-laptop"]["approvals"] == "1x managers then 1x procurement"
    assert rows["new-laptop"]["group"] == "servers" and rows["new-laptop"]["target"] == "5d"
    assert rows["software-install"]["required"] == "ci"
    assert rows["firewall-opening"]["approvals"] == "1x network"
    table = desk.ok("catalog")
    for text in ("Software installation", "1x managers then 1x procurement", "pre-approved",
                 "firewall-opening"):
        assert text in table


# --- opening requests -------------------------------------------------------------------------

@pytest.mark.parametrize(("request_type", "extra", "status", "group", "category", "target"), [
    ("password-reset", ("--submitter", "Hans <hans@example.org>"), "new", "service-desk",
     "Access", timedelta(hours=4)),
    ("software-install", ("--ci", "pc042"), "waiting-for-approval", "service-desk", "Software",
     timedelta(days=2)),
    ("new-laptop", ("--submitter", "Eva"), "waiting-for-approval", "servers", "Hardware",
     timedelta(days=5)),
    ("firewall-opening", ("--ci", "fw01"), "waiting-for-approval", "network", "Access",
     timedelta(days=3)),
])
def test_request_follows_its_catalog_entry(desk: Gitdesk, request_type: str,
                                           extra: tuple[str, ...], status: str, group: str,
                                           category: str, target: timedelta) -> None:
    tid = desk.open("request", "-s", f"Please: {request_type}", "--request-type", request_type,
                    *extra)
    assert tid.startswith("REQ-")
    ticket = data(desk, tid)
    assert ticket["request_type"] == request_type
    assert ticket["status"] == status
    assert ticket["approval_required"] is (status == "waiting-for-approval")
    assert ticket["group"] == group and ticket["category"] == category
    assert parse(ticket["due"]) - parse(ticket["created"]) == target
    assert request_type in desk.ok("show", tid)


def test_request_group_and_category_given_on_the_command_line_win(desk: Gitdesk) -> None:
    tid = desk.open("request", "-s", "Reset", "--request-type", "password-reset",
                    "--submitter", "Eva", "--group", "network", "--category", "Hardware")
    ticket = data(desk, tid)
    assert ticket["group"] == "network" and ticket["category"] == "Hardware"


def test_unknown_request_type_is_refused_with_the_catalog(desk: Gitdesk) -> None:
    run = refused(desk, "open", "request", "-s", "Reboot the core router",
                  "--request-type", "router-reboot", code=2,
                  says=("'router-reboot' is not in the request catalog", "gitdesk open change"))
    for name in ("password-reset", "software-install", "new-laptop", "firewall-opening"):
        assert name in run.stderr


def test_request_without_type_is_refused(desk: Gitdesk) -> None:
    refused(desk, "open", "request", "-s", "Something", code=2,
            says=("needs --request-type", "password-reset", "gitdesk catalog"))


def test_request_type_on_another_ticket_type_is_refused(desk: Gitdesk) -> None:
    refused(desk, "open", "incident", "-s", "x", "--request-type", "password-reset", code=2,
            says=("--request-type is for service requests",))


@pytest.mark.parametrize(("request_type", "flag"), [
    ("password-reset", "--submitter"), ("software-install", "--ci"),
    ("new-laptop", "--submitter"), ("firewall-opening", "--ci"),
])
def test_missing_required_field_is_refused_naming_the_flag(desk: Gitdesk, request_type: str,
                                                           flag: str) -> None:
    refused(desk, "open", "request", "-s", "x", "--request-type", request_type, code=2,
            says=(f"a {request_type} request needs {flag}",))


def test_required_custom_field_of_a_catalog_entry_can_be_given(desk: Gitdesk) -> None:
    """A catalog entry may require a custom field of requests; --field satisfies it."""
    config = (desk.path / ".gitdesk" / "config.yaml").read_text()
    config = config.replace(
        "      Software: [Installation, License]\n  problem:",
        "      Software: [Installation, License]\n    fields:\n      - id: cost_center\n"
        "        caption: Cost center\n        format: text\n  problem:")
    config = config.replace("    required: [submitter]\n    group: servers",
                            "    required: [submitter, cost_center]\n    group: servers")
    assert "id: cost_center" in config and "[submitter, cost_center]" in config
    commit_file(desk, ".gitdesk/config.yaml", config)
    desk.ok("doctor")
    refused(desk, "open", "request", "-s", "Laptop", "--request-type", "new-laptop",
            "--submitter", "Eva", code=2, says=("--field cost_center=",))
    run = desk("open", "request", "-s", "Laptop", "--request-type", "new-laptop",
               "--submitter", "Eva", "--field", "cost_center=CC-4711")
    assert run.exit_code == 0, run.stderr
    assert data(desk, run.stdout.strip())["fields"] == {"cost_center": "CC-4711"}


# --- the approval path ----------------------------------------------------------------------

def test_waiting_request_moves_only_through_approved_or_ends_rejected(desk: Gitdesk) -> None:
    commit_file(desk, ".gitdesk/policy.yaml", POLICY)
    tid = desk.open("request", "-s", "New laptop for Eva", "--request-type", "new-laptop",
                    "--submitter", "Eva")
    assert data(desk, tid)["status"] == "waiting-for-approval"
    allowed = "allows: approved, rejected, cancelled"
    for target in ("in-progress", "assigned", "pending", "new"):
        refused(desk, "transition", tid, target, "--reason", "awaiting-caller", code=1,
                says=(allowed,) if target != "new" else ("'new' is not a state",))
    refused(desk, "resolve", tid, "--code", "fixed", "-m", "Done", code=1,
            says=("cannot move from waiting-for-approval to resolved", allowed))
    run = refused(desk, "transition", tid, "approved", code=1,
                  says=("cannot move to approved",
                        "needs 1 approval(s) from group managers (has 0); ask: test, mia",
                        "needs 1 approval(s) from group procurement (has 0); ask: max",
                        "gitdesk approve"))
    assert run.stderr.index("managers") < run.stderr.index("procurement")
    assert data(desk, tid)["status"] == "waiting-for-approval"
    desk.ok("transition", tid, "rejected", "-m", "No budget")
    assert data(desk, tid)["status"] == "rejected"
    refused(desk, "reopen", tid, code=1, says=("none: it is final",))


def test_waiting_request_can_be_cancelled(desk: Gitdesk) -> None:
    tid = desk.open("request", "-s", "Port 443", "--request-type", "firewall-opening",
                    "--ci", "fw01")
    run = refused(desk, "transition", tid, "approved", code=1,
                  says=("needs 1 approval(s) from group network (has 0)",))
    assert "ask:" not in run.stderr  # the network group has no members yet
    desk.ok("cancel", tid, "-m", "Not needed")
    assert data(desk, tid)["status"] == "cancelled"


def test_pre_approved_request_has_no_approval_state(desk: Gitdesk) -> None:
    tid = desk.open("request", "-s", "Reset", "--request-type", "password-reset",
                    "--submitter", "Eva")
    refused(desk, "transition", tid, "approved", code=1,
            says=("'approved' is not a state of the request workflow",))
    desk.ok("transition", tid, "in-progress")
    desk.ok("resolve", tid, "--code", "fixed", "-m", "Reset done")
    assert data(desk, tid)["status"] == "resolved"


def test_approval_required_cannot_be_edited(desk: Gitdesk) -> None:
    tid = desk.open("request", "-s", "Install", "--request-type", "software-install",
                    "--ci", "pc1")
    refused(desk, "set", tid, "approval_required=false", code=2, says=("cannot be set",))
    refused(desk, "set", tid, "request_type=password-reset", code=2, says=("cannot be set",))


# --- library: approval levels and shortfalls ---------------------------------------------------

@pytest.fixture(scope="module")
def config() -> DeskConfig:
    return parse_config(template_file("itil", "config.yaml"))


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(POLICY.encode())


def request(request_type: str, **extra: Any) -> dict[str, Any]:
    return {"id": "REQ-AAAAAAAA", "type": "request", "request_type": request_type, **extra}


def test_required_levels_come_from_the_catalog_in_order(config: DeskConfig) -> None:
    assert required_levels(config, None, request("password-reset")) == []
    assert required_levels(config, None, request("software-install")) == [Level("managers", 1)]
    assert required_levels(config, None, request("new-laptop")) == [
        Level("managers", 1), Level("procurement", 1)]
    assert required_levels(config, None, request("no-such-type")) == []
    assert required_levels(config, None, {"type": "incident"}) == []


def test_policy_rules_add_levels_and_merge_by_group(config: DeskConfig) -> None:
    rules = POLICY.replace("rules: []\n", """\
rules:
  - when: {type: request, request_type: new-laptop}
    require: [{group: managers, count: 2}, {group: cab}]
  - when: {type: change}
    require: [{group: ecab, count: 1}]
  - when: {ci: "fw*"}
    require: [{group: network}]
""")
    strict = parse_policy(rules.encode())
    assert required_levels(config, strict, request("new-laptop")) == [
        Level("managers", 2), Level("procurement", 1), Level("cab", 1)]
    assert required_levels(config, strict, request("software-install", ci="pc1")) == [
        Level("managers", 1)]
    assert required_levels(config, strict, request("firewall-opening", ci="fw01")) == [
        Level("network", 1)]
    assert required_levels(config, strict, {"type": "change", "cis": ["fw02"]}) == [
        Level("ecab", 1), Level("network", 1)]


def loose(*people: str) -> list[tuple[str, str | None]]:
    """Approvals that name no group: each counts toward the first level it can fill."""
    return [(person, None) for person in people]


def names(approvers: list[tuple[str, str | None]]) -> list[str]:
    return [person for person, _group in approvers]


def test_one_person_in_two_groups_fills_one_level(policy: Policy) -> None:
    both = Policy(people=policy.people, admins=policy.admins, rules=policy.rules,
                  groups={**policy.groups,
                          "procurement": Group("procurement", ("max", "mia"), None)})
    levels = [Level("managers", 1), Level("procurement", 1)]
    [short] = shortfalls(levels, [("mia", "managers")], both)
    assert short.level.group == "procurement" and short.candidates == ("max",)
    assert shortfalls(levels, [("mia", "managers"), ("max", "procurement")], both) == []
    [short] = shortfalls(levels, [("mia", "procurement")], both)
    assert short.level.group == "managers"


def test_shortfalls_name_group_count_and_candidates(config: DeskConfig,
                                                    policy: Policy) -> None:
    levels = required_levels(config, policy, request("new-laptop"))
    missing = shortfalls(levels, [], policy)
    assert [(m.level.group, m.level.count, m.have, m.candidates) for m in missing] == [
        ("managers", 1, (), ("test", "mia")), ("procurement", 1, (), ("max",))]
    assert str(missing[0]) == "needs 1 approval(s) from group managers (has 0); ask: test, mia"
    missing = shortfalls(levels, loose("mia", "nina"), policy)
    assert [m.level.group for m in missing] == ["procurement"]
    assert shortfalls(levels, loose("mia", "max"), policy) == []
    assert shortfalls([], [], policy) == []


def test_shortfalls_count_distinct_members(policy: Policy) -> None:
    levels = [Level("managers", 2)]
    [short] = shortfalls(levels, loose("mia", "mia", "max"), policy)
    assert short.have == ("mia",) and short.candidates == ("test",)
    assert str(short) == "needs 2 approval(s) from group managers (has 1: mia); ask: test"
    assert shortfalls(levels, loose("mia", "test"), policy) == []
    [unknown] = shortfalls([Level("nobody", 1)], loose("mia"), policy)
    assert unknown.candidates == () and "ask" not in str(unknown)


def test_current_approvers_are_latest_approvals_of_the_current_content() -> None:
    ticket: dict[str, Any] = request("new-laptop", summary="Laptop for Eva")
    digest = content_hash(ticket)
    ticket["approvals"] = [
        vote("mia", digest), vote("max", digest), vote("max", digest, "rejected"),
        vote("test", digest, "rejected"), vote("test", digest)]
    assert names(current_approvers(ticket)) == ["mia", "test"]
    edited = {**ticket, "summary": "Two laptops for Eva"}
    assert content_hash(edited) != digest
    assert current_approvers(edited) == []
    assert names(current_approvers({**ticket, "priority": "high"})) == ["mia", "test"]
    assert current_approvers(request("new-laptop")) == []


def vote(who: str, digest: str, decision: str = "approved") -> dict[str, str]:
    return {"by": who, "decision": decision, "at": "2026-11-25T11:00:00Z",
            "content_hash": digest}


def test_the_verifier_opens_the_approved_gate_once_levels_are_satisfied(
        config: DeskConfig, policy: Policy) -> None:
    path = "tickets/request/AA/REQ-AAAAAAAA.yaml"
    old = {"id": "REQ-AAAAAAAA", "uid": "01M89WY9006REVJXD8V581980H", "type": "request",
           "summary": "Laptop", "status": "waiting-for-approval", "request_type": "new-laptop",
           "priority": "medium", "submitter": {"name": "Eva"},
           "created": "2026-11-25T10:00:00Z", "approval_required": True,
           "links": [], "fields": {}, "notes": []}
    rules = Rules(config, policy)
    digest = content_hash(old)
    new = {**old, "status": "approved", "approvals": [vote("mia", digest)]}
    problems = check_change(rules, path, old, new)
    assert [p.rule for p in problems] == ["approval"]
    assert "procurement" in problems[0].message and "managers" not in problems[0].message
    new["approvals"] = [vote("mia", digest), vote("max", digest)]
    assert check_change(rules, path, old, new) == []
    new["status"] = "in-progress"
    assert [p.rule for p in check_change(rules, path, old, new)] == ["workflow"]
