"""The desk's rules as plain functions: tickets in memory, no repository, no git.

Each action is a rule over tickets (a ticket, a Context, its inputs) that returns
an Edit; these tests call them with hand-made tickets and check the tickets and
the commit subject and trailers they would produce.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from gitdesk.actions.init import template_file
from gitdesk.actions.links import linked
from gitdesk.actions.tickets import OpenRequest, assign_to, note, opened, set_fields
from gitdesk.actions.transitions import Move, moved
from gitdesk.domain.config import DeskConfig, Policy
from gitdesk.domain.edits import Context
from gitdesk.domain.model import Flow, Ticket, new_ticket, ticket_path
from gitdesk.domain.workflow import Entry, enter_state, shortest_path
from gitdesk.errors import RuleViolation, UsageError
from gitdesk.verify.configs import parse_config, parse_policy
from gitdesk.yaml.roundtrip import dump

NOW = datetime(2026, 11, 25, 16, 21, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> DeskConfig:
    return parse_config(template_file("itil", "config.yaml"))


@pytest.fixture(scope="module")
def policy() -> Policy:
    text = template_file("itil", "policy.yaml").decode().replace(
        "  admin: {name: Desk Admin, email: admin@example.org, keys: []}\n",
        "  admin: {name: Desk Admin, email: admin@example.org, keys: []}\n"
        "  gary: {name: Gary, email: gary@example.org}\n").replace(
        "  network: {members: [], manager: admin}", "  network: {members: [gary], manager: admin}")
    return parse_policy(text.encode())


def ticket(tid: str, type_name: str = "incident", **values: Any) -> Ticket:
    data = {"id": tid, "uid": "01JDXK6Q2K9XDMT3VY8A0B5C1E", "type": type_name,
            "summary": "Web server down", "status": "new", "impact": "high",
            "urgency": "high", "priority": "critical", "created": "2026-11-25T16:00:00Z",
            "links": [], "fields": Flow(), "notes": [], **values}
    return new_ticket(data, ticket_path(type_name, tid))


def context(config: DeskConfig, policy: Policy, *others: Ticket) -> Context:
    return Context(config=config, now=NOW, by="gary", policy_of=lambda: policy,
                   tickets={t.id: t for t in others})


# --- entering a state ---------------------------------------------------------------------------

def test_resolving_needs_a_code_and_a_solution(config: DeskConfig) -> None:
    t = ticket("INC-7Q2K9XDM", status="in-progress")
    workflow = config.workflow_for("incident", t.data)
    with pytest.raises(RuleViolation, match="needs a resolution code"):
        enter_state(config, workflow, t, "resolved", Entry(solution="done"))
    with pytest.raises(RuleViolation, match="not a resolution code"):
        enter_state(config, workflow, t, "resolved", Entry(code="nope", solution="done"))
    with pytest.raises(RuleViolation, match="saying what was done"):
        enter_state(config, workflow, t, "resolved", Entry(code="fixed"))
    assert t.status == "in-progress"
    verb = enter_state(config, workflow, t, "resolved", Entry(code="fixed", solution="done"))
    assert (verb, t.status, t.get("resolution_code"), t.get("solution")) == \
        ("resolve", "resolved", "fixed", "done")


def test_reopening_clears_the_resolution_and_names_the_move_reopen(config: DeskConfig) -> None:
    t = ticket("INC-7Q2K9XDM", status="resolved", resolution_code="fixed", solution="done")
    workflow = config.workflow_for("incident", t.data)
    target = workflow.shortcuts["reopen"]
    assert enter_state(config, workflow, t, target, Entry()) == "reopen"
    assert t.get("resolution_code") is None and t.get("solution") is None
    # the same target from an open state is not a reopen
    assert enter_state(config, workflow, t, "pending", Entry(reason="awaiting-vendor")) == \
        "pending"
    assert enter_state(config, workflow, t, target, Entry()) == target


def test_pending_takes_a_known_reason_and_leaving_drops_it(config: DeskConfig) -> None:
    t = ticket("INC-7Q2K9XDM", status="in-progress")
    workflow = config.workflow_for("incident", t.data)
    with pytest.raises(UsageError, match="--reason"):
        enter_state(config, workflow, t, "pending", Entry(reason="lunch"))
    enter_state(config, workflow, t, "pending", Entry(reason="awaiting-vendor"))
    assert t.get("pending_reason") == "awaiting-vendor"
    enter_state(config, workflow, t, "in-progress", Entry())
    assert "pending_reason" not in t.data


def test_keys_land_in_the_canonical_order_whatever_the_order_of_edits(
        config: DeskConfig) -> None:
    t = ticket("INC-7Q2K9XDM", status="in-progress")
    enter_state(config, config.workflow_for("incident", t.data), t, "resolved",
                Entry(code="fixed", solution="line one\nline two"))
    keys = list(t.data)
    assert keys.index("status") < keys.index("resolution_code") < keys.index("solution") \
        < keys.index("links")
    assert b"solution: |-\n  line one\n  line two\n" in dump(t.data)


def test_shortest_path_never_passes_an_approval_gate(config: DeskConfig) -> None:
    incident = config.workflow_for("incident", {})
    assert shortest_path(incident, "new", "closed") == ["resolved", "closed"]
    assert shortest_path(incident, "new", "new") == []
    change = config.workflow_for("change", {"change_type": "normal"})
    assert shortest_path(change, "new", "implement") is None


# --- actions ------------------------------------------------------------------------------------

def test_resolving_a_parent_resolves_its_open_children(config: DeskConfig,
                                                       policy: Policy) -> None:
    parent = ticket("INC-PARENT00", status="in-progress",
                    links=[Flow(rel="child", id="INC-CHILD000"),
                           Flow(rel="child", id="INC-CH1LDDNE")])
    child = ticket("INC-CHILD000", status="pending", pending_reason="awaiting-vendor")
    done = ticket("INC-CH1LDDNE", status="closed", resolution_code="fixed", solution="x")
    edit = moved(parent, context(config, policy, child, done),
                 Move("resolve", message="Replaced the switch", code="fixed"))
    assert child.status == "resolved" and "pending_reason" not in child.data
    assert child.get("solution") == "Resolved with parent INC-PARENT00: Replaced the switch"
    assert done.status == "closed"
    assert [t.id for t in edit.tickets] == ["INC-CHILD000"]
    assert edit.subject == "INC-PARENT00: resolve — Replaced the switch"
    assert edit.trailers == [("Gitdesk-From", "in-progress"), ("Gitdesk-To", "resolved"),
                             ("Gitdesk-Child-Resolved", "INC-CHILD000")]
    assert parent.get("notes")[-1]["text"] == "Replaced the switch"


def test_a_move_the_workflow_forbids_changes_nothing(config: DeskConfig,
                                                     policy: Policy) -> None:
    t = ticket("INC-7Q2K9XDM")
    before = dump(t.data)
    with pytest.raises(RuleViolation, match="cannot move from new to closed"):
        moved(t, context(config, policy), Move("closed"))
    assert dump(t.data) == before


def test_note_and_assign(config: DeskConfig, policy: Policy) -> None:
    t = ticket("INC-7Q2K9XDM")
    ctx = context(config, policy)
    edit = note(t, ctx, text="Restarted httpd")
    assert edit.subject == "INC-7Q2K9XDM: note — Restarted httpd"
    assert t.get("notes") == [{"at": "2026-11-25T16:21:00Z", "by": "gary",
                               "text": "Restarted httpd", "internal": False}]
    edit = assign_to(t, ctx, who="gary", group="network")
    assert (t.status, t.get("assignee"), t.get("group")) == ("assigned", "gary", "network")
    assert edit.trailers == [("Gitdesk-From", "new"), ("Gitdesk-To", "assigned")]
    with pytest.raises(RuleViolation, match="not a person"):
        assign_to(t, ctx, who="mallory")


def test_set_rederives_priority_and_due_unless_given(config: DeskConfig,
                                                     policy: Policy) -> None:
    t = ticket("INC-7Q2K9XDM", due="2026-11-25T17:00:00Z")
    set_fields(t, context(config, policy), values={"impact": "low", "urgency": "low"})
    assert t.get("priority") == config.derive_priority("low", "low")
    assert t.get("due") != "2026-11-25T17:00:00Z"
    set_fields(t, context(config, policy), values={"priority": "critical"})
    assert (t.get("priority"), t.get("priority_override")) == ("critical", True)
    with pytest.raises(UsageError, match="cannot be set"):
        set_fields(t, context(config, policy), values={"status": "closed"})


def test_a_new_workaround_is_noted_on_the_open_incidents_it_helps(config: DeskConfig,
                                                                  policy: Policy) -> None:
    problem = ticket("PRB-3MZ81KQA", "problem", links=[Flow(rel="causes", id="INC-7Q2K9XDM")])
    incident = ticket("INC-7Q2K9XDM")
    edit = set_fields(problem, context(config, policy, incident),
                      values={"root_cause": "pool exhausted", "workaround": "restart httpd"})
    assert problem.get("known_error") is True
    assert incident.get("notes")[-1]["text"] == \
        "Workaround from PRB-3MZ81KQA: restart httpd"
    assert edit.subject.endswith("(workaround sent to INC-7Q2K9XDM)")


def test_link_writes_both_ends_and_refuses_a_duplicate(config: DeskConfig,
                                                       policy: Policy) -> None:
    a, b = ticket("INC-AAAAAAAA"), ticket("PRB-BBBBBBBB", "problem")
    ctx = context(config, policy, a, b)
    edit = linked(a, ctx, "caused-by", "PRB-BBBBBBBB")
    assert a.links()[0].id == "PRB-BBBBBBBB"
    assert b.links()[0].rel == config.link_types["caused-by"]
    assert edit.subject == "INC-AAAAAAAA: link — caused-by PRB-BBBBBBBB"
    with pytest.raises(RuleViolation, match="already has"):
        linked(a, ctx, "caused-by", "PRB-BBBBBBBB")
    with pytest.raises(RuleViolation, match="itself"):
        linked(a, ctx, "related", "INC-AAAAAAAA")


def test_open_derives_priority_and_due_and_never_reuses_an_id(config: DeskConfig,
                                                              policy: Policy) -> None:
    seen: list[str] = []

    def taken(path: str) -> bool:
        seen.append(path)
        return len(seen) == 1  # the first ID minted is taken
    request = OpenRequest("incident", "Mail delayed", values={"impact": "high",
                                                              "urgency": "high"})
    edit = opened(request, context(config, policy), taken=taken)
    new = edit.tickets[0]
    assert new.path == seen[1] != seen[0]
    assert (new.status, new.get("priority")) == ("new", config.derive_priority("high", "high"))
    assert new.get("due") is not None and new.get("created") == "2026-11-25T16:21:00Z"
    with pytest.raises(UsageError, match="unknown ticket type"):
        opened(OpenRequest("incidnet", "x"), context(config, policy), taken=lambda p: False)


# --- the domain does no I/O ---------------------------------------------------------------------

def test_the_domain_imports_no_git_yaml_codec_or_terminal() -> None:
    code = ("import pkgutil, importlib, sys, gitdesk.domain as d\n"
            "for m in pkgutil.walk_packages(d.__path__, 'gitdesk.domain.'):\n"
            "    importlib.import_module(m.name)\n"
            "print(sorted({n.split('.')[0] for n in sys.modules} & "
            "{'pygit2', 'click', 'ruamel', 'jinja2', 'sqlite3'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
