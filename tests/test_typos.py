"""A typo is an error that names the value and lists the valid ones, never an empty
result; one date parser for every flag that takes a date; --at takes a date."""

from __future__ import annotations

import json

import pytest

from support.cli import Gitdesk, data, head, refused


def at(when: str) -> dict[str, str]:
    return {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}


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


@pytest.mark.parametrize("args", [
    ("report", "summary", "--as-of", "2026-13-01"),
    ("report", "summary", "--as-of", "2026-02-30"),
    ("report", "summary", "--as-of", "2026-11-01T25:00:00Z"),
    ("report", "summary", "--from", "2026-13-01"),
    ("report", "summary", "--to", "2026-00-10"),
    ("list", "--at", "2026-13-01"),
    ("show", "{tid}", "--at", "2026-13-01"),
    ("changes", "calendar", "--from", "2026-13-01"),
    ("problems", "suggest", "--now", "2026-13-01"),
])
def test_an_invalid_date_is_a_usage_error_naming_the_flag(desk: Gitdesk,
                                                          args: tuple[str, ...]) -> None:
    tid = desk.open("incident", "-s", "x")
    args = tuple(a.format(tid=tid) for a in args)
    flag = next(a for a in args if a.startswith("--"))
    usage_error(desk, *args, says=(f"{flag}: {args[args.index(flag) + 1]!r} is not a valid date",
                                   "2026-11-01T09:00:00Z"))


def test_an_unknown_revision_names_the_flag(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "x")
    for args in (("report", "summary", "--as-of", "nosuch"), ("list", "--at", "nosuch"),
                 ("show", tid, "--at", "nosuch")):
        flag = args[-2]
        refused(desk, *args, code=1,
                says=(f"{flag}: 'nosuch' is neither a date nor a revision",))


def test_at_takes_a_date_like_as_of(desk: Gitdesk) -> None:
    first = desk.ok("open", "incident", "-s", "First", env=at("2026-05-01T10:00:00Z")).strip()
    desk.ok("note", first, "-m", "Looked at it", env=at("2026-05-10T10:00:00Z"))
    second = desk.ok("open", "incident", "-s", "Second", env=at("2026-05-20T12:00:00Z")).strip()

    def listed(when: str) -> list[str]:
        return sorted(r["id"] for r in json.loads(desk.ok("list", "--at", when, "--format",
                                                          "json")))

    def reported(when: str) -> list[str]:
        report = json.loads(desk.ok("report", "detail", "--as-of", when, "--format", "json"))
        return sorted(r["id"] for r in report["sections"][0]["rows"])

    def notes(when: str) -> int:
        shown = json.loads(desk.ok("show", first, "--at", when, "--format", "json"))
        return len(shown.get("notes") or [])

    assert notes("2026-05-09") == 0
    assert notes("2026-05-10") == 1  # a date alone is the whole day, as --as-of has it
    assert notes("2026-05-10T09:59:59Z") == 0
    assert notes("2026-05-10T10:00:00Z") == 1
    for when in ("2026-05-15", "2026-05-20T11:59:59Z", "2026-05-20", "2026-06-01"):
        assert listed(when) == reported(when), when
    assert listed("2026-05-15") == [first]
    assert listed("2026-05-20") == sorted([first, second])
    # a revision still works
    assert listed(desk.git("rev-parse", "HEAD~1").strip()) == [first]
    # before the first commit there is nothing to show
    refused(desk, "list", "--at", "2020-01-01", code=1,
            says=("--at: main has no commit at or before 2020-01-01T23:59:59Z",))
    refused(desk, "show", second, "--at", "2026-05-15", code=1, says=(second,))
    assert head(desk)
