"""A typo is an error that names the value and lists the valid ones, never an empty
result."""

from __future__ import annotations

import json

from conftest import Gitdesk, data, refused


def usage_error(desk: Gitdesk, *args: str, says: tuple[str, ...]) -> None:
    run = refused(desk, *args, code=2, says=says)
    assert run.stdout == "", f"{args}: printed {run.stdout!r}"


def test_list_filters_with_unknown_values_are_usage_errors(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Web down", "--impact", "high", "--urgency", "high")
    usage_error(desk, "list", "--status", "progress",
                says=("--status: unknown status 'progress'", "did you mean 'in-progress'",
                      "statuses: new, assigned, in-progress"))
    usage_error(desk, "list", "--priority", "hihg",
                says=("--priority: unknown priority 'hihg'", "did you mean 'high'",
                      "priorities: critical, high, medium, low, planning"))
    usage_error(desk, "list", "--where", "priorty = high",
                says=("--where: unknown field 'priorty'", "did you mean 'priority'",
                      "at position 1", "fields: id, uid, type, summary",
                      "outage_minutes, vendor_case", "(custom fields also as fields.NAME)"))
    usage_error(desk, "list", "--where", "status = new and fields.outage = 3",
                says=("unknown field 'fields.outage'", "at position 18"))
    usage_error(desk, "list", "--columns", "id,foo",
                says=("--columns: unknown column 'foo'", "columns: id, uid"))
    # a status of another type's workflow is unknown for this type
    usage_error(desk, "list", "change", "--status", "resolved",
                says=("unknown status 'resolved'", "statuses: new, assess, authorize"))
    # the valid forms still work (priorities in any case, as the filter compares them)
    for args in (("--status", "new"), ("--priority", "critical"), ("--priority", "CRITICAL"),
                 ("--where", "priority = critical"), ("--where", "outage_minutes = 3 or "
                                                     "fields.vendor_case ~ x or id ~ INC")):
        rows = json.loads(desk.ok("list", *args, "--format", "json"))
        assert [r["id"] for r in rows] == [tid], args
    rows = json.loads(desk.ok("list", "--columns", "id,fields.outage_minutes,vendor_case",
                              "--format", "json"))
    assert rows == [{"id": tid, "fields.outage_minutes": None, "vendor_case": None}]


def test_report_names_unknown_fields(desk: Gitdesk) -> None:
    desk.open("incident", "-s", "x")
    usage_error(desk, "report", "summary", "--where", "priorty = high",
                says=("--where: unknown field 'priorty'", "did you mean 'priority'"))
    usage_error(desk, "report", "detail", "--field", "outage_minuts",
                says=("--field: unknown custom field 'outage_minuts'",
                      "did you mean 'outage_minutes'"))
    # the times reports derive can be filtered on
    assert json.loads(desk.ok("report", "detail", "--where", "resolved = x", "--format",
                              "json"))["sections"][0]["rows"] == []


def test_reopen_needs_a_resolved_or_closed_ticket(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Printer jam")
    refused(desk, "reopen", tid, code=1,
            says=(f"{tid}: cannot reopen: it is new, not resolved or closed",
                  f"gitdesk transition {tid} in-progress"))
    desk.ok("assign", tid, "test")
    refused(desk, "reopen", tid, code=1, says=("cannot reopen: it is assigned",))
    assert data(desk, tid)["status"] == "assigned"
    desk.ok("resolve", tid, "--code", "fixed", "-m", "Cleared")
    desk.ok("reopen", tid, "-m", "Jammed again")
    assert data(desk, tid)["status"] == "in-progress"
    refused(desk, "reopen", tid, code=1, says=("cannot reopen: it is in-progress",))
    desk.ok("resolve", tid, "--code", "fixed", "-m", "Cleared")
    desk.ok("close", tid)
    desk.ok("reopen", tid)
    assert data(desk, tid)["status"] == "in-progress"
    # moving there by name is still a plain transition
    other = desk.open("incident", "-s", "Other")
    desk.ok("transition", other, "in-progress")


def test_an_unknown_branch_is_named_with_the_branches_there_are(desk: Gitdesk) -> None:
    desk.open("incident", "-s", "x")
    desk.git("branch", "side")
    refused(desk, "--branch", "nosuch", "list", code=1,
            says=("--branch: there is no branch 'nosuch'", "branches: main, side"))
    refused(desk, "--branch", "nosuch", "open", "incident", "-s", "y", code=1,
            says=("no branch 'nosuch'",))
    run = desk("list", env={"GITDESK_BRANCH": "nosuch"})
    assert run.exit_code == 1 and "GITDESK_BRANCH: there is no branch 'nosuch'" in run.stderr
    assert desk.ok("--branch", "side", "list").count("INC-") == 1
