"""The import's rules without git: rows of a ServiceNow event log, as the log reader
yields them, through translate with the default mapping and the ITIL config."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from gitdesk.actions.init import template_file
from gitdesk.domain.config import DeskConfig
from gitdesk.domain.model import KEY_ORDER, Flow
from gitdesk.importers.servicenow.mapping import Mapping, load_mapping
from gitdesk.importers.servicenow.translate import Opening, Translation, Translator
from gitdesk.verify.configs import parse_config

HEADER = ("number,incident_state,active,reassignment_count,reopen_count,sys_mod_count,"
          "made_sla,caller_id,opened_by,opened_at,sys_created_by,sys_created_at,"
          "sys_updated_by,sys_updated_at,contact_type,location,category,subcategory,u_symptom,"
          "cmdb_ci,impact,urgency,priority,assignment_group,assigned_to,knowledge,"
          "u_priority_confirmation,notify,problem_id,rfc,vendor,caused_by,closed_code,"
          "resolved_by,resolved_at,closed_at")  # the fixture's header line
COLUMNS = HEADER.split(",")
# the first event of INC0000057 in tests/fixtures/servicenow/, as the reader gives it
# (`?` is None, runs of spaces collapsed), with a category the ITIL config knows
FIRST = {
    "number": "INC0000057", "incident_state": "New", "active": "true",
    "reassignment_count": "0", "reopen_count": "0", "sys_mod_count": "0", "made_sla": "true",
    "caller_id": "Caller 4416", "opened_by": "Opened by 8", "opened_at": "29/2/2016 06:10",
    "sys_updated_by": "Updated by 21", "sys_updated_at": "29/2/2016 06:26",
    "contact_type": "Phone", "location": "Location 204", "category": "Network",
    "subcategory": "DNS", "u_symptom": "Symptom 471", "impact": "3 - Low",
    "urgency": "3 - Low", "priority": "4 - Low", "assignment_group": "Group 70",
    "knowledge": "true", "u_priority_confirmation": "false", "notify": "Do Not Notify",
    "closed_code": "code 10", "resolved_by": "Resolved by 5",
    "resolved_at": "1/3/2016 02:55", "closed_at": "6/3/2016 03:00",
}
OPENING = Opening("INC-0A1B2C3D", "01HXXXXXXX0A1B2C3DEFGHJKMN", 1456727160)  # 29/2/2016 06:26


def values(**changes: str | None) -> tuple[str | None, ...]:
    row = {**FIRST, **changes}
    return tuple(row.get(column) for column in COLUMNS)


@pytest.fixture(autouse=True)
def no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules run no git (nor anything else)."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"translate started a process: {args}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


@pytest.fixture(scope="module")
def mapping() -> Mapping:
    return load_mapping()


@pytest.fixture(scope="module")
def config() -> DeskConfig:
    return parse_config(template_file("itil", "config.yaml"))


@pytest.fixture
def rules(mapping: Mapping, config: DeskConfig) -> Translator:
    return Translator(mapping, config, COLUMNS)


def opened(rules: Translator, **changes: str | None) -> dict[str, Any]:
    result = rules.translate(None, values(**changes), opening=OPENING)
    assert result.skip is None, result.skip
    return result.steps[-1].new


def moves(result: Translation) -> list[tuple[str, str]]:
    return [(s.action, s.subject.partition(": ")[2]) for s in result.steps]


def test_the_first_row_opens_the_ticket(rules: Translator, config: DeskConfig) -> None:
    result = rules.translate(None, values(), opening=OPENING)
    assert result.skip is None and result.adjusted == []
    [step] = result.steps
    assert (step.action, step.subject, step.trailers) == \
        ("open", "INC-0A1B2C3D: open — ServiceNow incident INC0000057", ())
    ticket = step.new
    assert list(ticket) == sorted(ticket, key=KEY_ORDER.index)
    assert ticket["id"] == OPENING.id and ticket["uid"] == OPENING.uid
    assert ticket["status"] == "new" and ticket["type"] == "incident"
    assert ticket["created"] == "2016-02-29T06:26:00Z"
    # ServiceNow's priority is kept; the ITIL matrix says planning for low x low
    assert (ticket["impact"], ticket["urgency"], ticket["priority"]) == ("low", "low", "low")
    assert ticket["priority_override"] is True
    assert config.derive_priority("low", "low") == "planning"
    assert ticket["due"] == "2016-03-02T06:26:00Z"  # created + 48h, low's target
    assert (ticket["category"], ticket["subcategory"]) == ("Network", "DNS")
    assert (ticket["group"], ticket["submitter"]) == ("group-70", {"name": "Caller 4416"})
    assert isinstance(ticket["submitter"], Flow) and isinstance(ticket["fields"], Flow)
    assert "assignee" not in ticket and "ci" not in ticket
    assert ticket["fields"] == {
        "servicenow_number": "INC0000057", "servicenow_opened_by": "Opened by 8",
        "servicenow_opened_at": "2016-02-29T06:10:00Z", "servicenow_contact_type": "Phone",
        "servicenow_location": "Location 204", "servicenow_symptom": "Symptom 471",
        "servicenow_closed_code": "code 10", "servicenow_made_sla": True,
        "servicenow_reassignments": 0, "servicenow_reopens": 0, "servicenow_mod_count": 0}
    assert rules.author(values(), 1456727160).email == "updated-by-21@servicenow.invalid"


def test_a_priority_the_matrix_gives_is_no_override(rules: Translator) -> None:
    ticket = opened(rules, impact="1 - High", urgency="1 - High", priority="1 - Critical")
    assert ticket["priority"] == "critical" and "priority_override" not in ticket
    assert ticket["due"] == "2016-02-29T07:26:00Z"


def test_new_to_closed_goes_through_resolved(rules: Translator) -> None:
    ticket = opened(rules)
    result = rules.translate(ticket, values(incident_state="Closed", closed_code="code 5",
                                            sys_mod_count="1"))
    assert moves(result) == [("transition", "resolve (new -> resolved)"),
                             ("transition", "close (resolved -> closed)")]
    resolved, closed = (s.new for s in result.steps)
    assert result.steps[0].trailers == (("Gitdesk-From", "new"), ("Gitdesk-To", "resolved"))
    assert (resolved["status"], resolved["resolution_code"], resolved["solution"]) == \
        ("resolved", "other", "Resolved in ServiceNow (code 5)")
    assert resolved["fields"]["servicenow_mod_count"] == 1  # the row's values come first
    assert closed["status"] == "closed" and closed["solution"] == resolved["solution"]
    assert ticket["status"] == "new" and "solution" not in ticket  # the input is left alone

    # a first row that is already closed: open, then the same two steps
    first = rules.translate(None, values(incident_state="Closed"), opening=OPENING)
    assert [a for a, _ in moves(first)] == ["open", "transition", "transition"]


def test_a_reopen_clears_the_resolution(rules: Translator) -> None:
    closed = rules.translate(opened(rules), values(incident_state="Closed")).steps[-1].new
    result = rules.translate(closed, values(incident_state="Active"))
    assert moves(result) == [("transition", "reopen (closed -> in-progress)")]
    reopened = result.steps[0].new
    assert reopened["status"] == "in-progress"
    assert "resolution_code" not in reopened and "solution" not in reopened


def test_awaiting_vendor_is_pending_with_its_reason(rules: Translator) -> None:
    active = rules.translate(opened(rules), values(incident_state="Active")).steps[-1].new
    result = rules.translate(active, values(incident_state="Awaiting Vendor"))
    assert moves(result) == [("transition", "pending (in-progress -> pending)")]
    pending = result.steps[0].new
    assert pending["pending_reason"] == "awaiting-vendor"

    # pending for another reason: a set, no transition
    result = rules.translate(pending, values(incident_state="Awaiting User Info"))
    assert moves(result) == [("set", "set — pending_reason=awaiting-caller")]
    # leaving pending drops the reason
    result = rules.translate(pending, values(incident_state="Active"))
    assert "pending_reason" not in result.steps[-1].new


def test_an_unmapped_state_is_a_skip_with_its_reason(rules: Translator) -> None:
    result = rules.translate(opened(rules), values(incident_state="-100"))
    assert result.steps == []
    assert result.skip is not None
    assert result.skip.reason == "incident_state '-100' is not in the mapping's states"
    assert rules.target(values(incident_state="-100")) is None


def test_a_row_back_to_new_is_skipped(rules: Translator) -> None:
    active = rules.translate(opened(rules), values(incident_state="Active")).steps[-1].new
    result = rules.translate(active, values(incident_state="New"))
    assert result.steps == [] and result.skip is not None
    assert result.skip.reason == "the workflow has no way from in-progress to new"


def test_an_identical_row_changes_nothing(rules: Translator) -> None:
    """No transition and no value changes; the row is still one commit (each row of
    the log is one), a set that says so."""
    ticket = opened(rules)
    result = rules.translate(ticket, values())
    assert moves(result) == [("set", "set — no change")]
    assert result.steps[0].new == ticket


def test_values_the_mapping_or_config_do_not_know_are_left_out(rules: Translator) -> None:
    result = rules.translate(None, values(category="Category 20", impact="9 - Unknown"),
                             opening=OPENING)
    ticket = result.steps[-1].new
    assert "category" not in ticket and "subcategory" not in ticket and "impact" not in ticket
    assert result.adjusted == ["impact value not in the mapping: left out",
                               "category not in the desk's config: left out"]
