"""Change management through the CLI: change types and their workflows, standard changes,
plans, risk, windows, the change calendar (table, JSON, ICS, HTML) and collisions."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from support.cli import Gitdesk, data, refused

PEOPLE = """\
version: 1
people:
  test: {name: Test User, email: test@example.org}
  mia: {name: Mia Manager, email: mia@example.org}
groups:
  service-desk: {members: [test], manager: mia}
  network: {members: [test]}
  servers: {members: [test]}
  dba: {members: []}
  managers: {members: [test, mia]}
  procurement: {members: []}
  cab: {members: [test, mia]}
  ecab: {members: [test]}
admins: [test]
"""
NO_RULES = PEOPLE + "rules: []\n"
CAB_FOR_ALL_CHANGES = PEOPLE + """\
rules:
  - when: {type: change}
    require: [{group: cab, count: 1}]
"""
PLANS = ("implementation_plan=Upgrade the firmware", "backout_plan=Flash the old image",
         "test_plan=Ping through the switch")
NO_TO_ALL = ("--answer", "outage=no", "--answer", "untested=no", "--answer", "no-backout=no",
             "--answer", "many-users=no", "--answer", "vendor=no")



def use_policy(desk: Gitdesk, text: str) -> Gitdesk:
    (desk.path / ".gitdesk" / "policy.yaml").write_text(text)
    desk.git("add", ".gitdesk/policy.yaml")
    desk.git("commit", "-q", "-m", "policy")
    return desk


@pytest.fixture
def open_desk(desk: Gitdesk) -> Gitdesk:
    """A desk whose policy asks no approvals, so changes can be scheduled."""
    return use_policy(desk, NO_RULES)


def ready(desk: Gitdesk, *args: str, window: str = "2026-12-01T22:00:00Z/2h") -> str:
    """A normal change with plans, risk and window, in authorize."""
    tid = desk.open("change", "-s", "Firmware upgrade", "--window", window, "--risk", "low",
                    *args)
    desk.ok("set", tid, *PLANS)
    desk.ok("transition", tid, "assess")
    desk.ok("transition", tid, "authorize")
    return tid


def scheduled(desk: Gitdesk, summary: str, window: str, *args: str) -> str:
    tid = desk.open("change", "-s", summary, "--change-type", "emergency", "--window", window,
                    "--risk", "low", *args)
    desk.ok("set", tid, "implementation_plan=do", "backout_plan=undo")
    desk.ok("transition", tid, "authorize")
    desk.ok("transition", tid, "scheduled")
    return tid


# --- change types and workflows -------------------------------------------------------------

def test_normal_change_goes_through_its_whole_workflow(open_desk: Gitdesk) -> None:
    desk = open_desk
    tid = desk.open("change", "-s", "Core switch firmware", "--cis", "sw01,sw02",
                    "--services", "intranet")
    ticket = data(desk, tid)
    assert tid.startswith("CHG-")
    assert ticket["change_type"] == "normal" and ticket["status"] == "new"
    assert ticket["cis"] == ["sw01", "sw02"] and ticket["services"] == ["intranet"]
    assert ticket["fields"] == {"downtime_expected": False}
    desk.ok("transition", tid, "assess")
    desk.ok("set", tid, *PLANS, "window=2026-12-01T22:00:00Z/2026-12-01T23:30:00Z")
    desk.ok("risk", tid, *NO_TO_ALL)
    for state in ("authorize", "scheduled", "implement", "review"):
        desk.ok("transition", tid, state)
        assert data(desk, tid)["status"] == state
    desk.ok("close", tid, "--outcome", "successful", "-m", "Went fine")
    ticket = data(desk, tid)
    assert ticket["status"] == "closed" and ticket["outcome"] == "successful"
    shown = desk.ok("show", tid)
    for text in ("change type", "normal", "Implementation plan:", "Back-out plan:",
                 "Test plan:", "2026-12-01T22:00:00Z → 2026-12-01T23:30:00Z", "sw01, sw02"):
        assert text in shown


def test_normal_change_cannot_skip_assess(open_desk: Gitdesk) -> None:
    tid = open_desk.open("change", "-s", "x")
    refused(open_desk, "transition", tid, "authorize", code=1,
            says=("cannot move from new to authorize", "allows: assess, cancelled"))
    refused(open_desk, "transition", tid, "scheduled", code=1,
            says=("cannot move from new to scheduled",))


def test_emergency_change_skips_assess(open_desk: Gitdesk) -> None:
    desk = open_desk
    tid = desk.open("change", "-s", "Patch the exploited VPN", "--change-type", "emergency",
                    "--window", "2026-11-30T01:00:00Z/1h", "--risk", "high")
    assert data(desk, tid)["change_type"] == "emergency"
    refused(desk, "transition", tid, "assess", code=1,
            says=("'assess' is not a state of the change-emergency workflow",))
    refused(desk, "transition", tid, "authorize", code=1,
            says=("implementation_plan", "backout_plan"))
    desk.ok("set", tid, "implementation_plan=Apply vendor hotfix", "backout_plan=Uninstall")
    desk.ok("transition", tid, "authorize")  # no test plan needed in an emergency
    desk.ok("transition", tid, "scheduled")
    assert data(desk, tid)["status"] == "scheduled"


def test_change_type_is_checked_and_immutable(desk: Gitdesk) -> None:
    refused(desk, "open", "change", "-s", "x", "--change-type", "urgent", code=2,
            says=("--change-type: 'urgent' is not one of: normal, emergency, standard",))
    refused(desk, "open", "incident", "-s", "x", "--change-type", "normal", code=2,
            says=("--change-type is for changes",))
    tid = desk.open("change", "-s", "x")
    refused(desk, "set", tid, "change_type=emergency", code=2, says=("cannot be set",))


def test_authorize_needs_plans_risk_and_window(open_desk: Gitdesk) -> None:
    desk = open_desk
    for missing in ("implementation_plan", "backout_plan", "test_plan", "risk", "window"):
        tid = desk.open("change", "-s", f"Without {missing}")
        values = {"implementation_plan": "do", "backout_plan": "undo", "test_plan": "check",
                  "risk": "medium", "window": "2026-12-01T22:00:00Z/1h"}
        given = values.pop(missing)
        desk.ok("set", tid, *(f"{k}={v}" for k, v in values.items()))
        desk.ok("transition", tid, "assess")
        run = refused(desk, "transition", tid, "authorize", code=1,
                      says=(f"authorize requires {missing}",))
        assert "gitdesk set CHG-" in run.stderr
        desk.ok("set", tid, f"{missing}={given}")
        desk.ok("transition", tid, "authorize")


def test_a_scheduled_change_keeps_its_window(open_desk: Gitdesk) -> None:
    tid = ready(open_desk)
    open_desk.ok("transition", tid, "scheduled")
    refused(open_desk, "set", tid, "window=", code=1, says=("scheduled requires window",))


# --- standard changes --------------------------------------------------------------------------

def test_standard_change_is_opened_from_its_template(desk: Gitdesk) -> None:
    tid = desk.open("change", "--standard", "restart-web-service",
                    "--window", "2026-12-01T23:00:00Z", "--ci", "web01")
    ticket = data(desk, tid)
    assert ticket["change_type"] == "standard"
    assert ticket["standard_change"] == "restart-web-service"
    assert ticket["summary"] == "Restart the web service on a web server"
    assert ticket["risk"] == "low" and ticket["group"] == "servers"
    assert ticket["category"] == "Software" and ticket["subcategory"] == "Web server"
    assert ticket["implementation_plan"].startswith("systemctl restart httpd")
    assert ticket["backout_plan"] and ticket["test_plan"]
    assert ticket["window"] == {"start": "2026-12-01T23:00:00Z", "end": "2026-12-01T23:15:00Z"}
    own = desk.open("change", "--standard", "add-dns-record",
                    "--window", "2026-12-02T10:00:00Z/2026-12-02T12:00:00Z", "--group", "dba")
    ticket = data(desk, own)
    assert ticket["summary"] == "Add a DNS record"
    assert ticket["window"]["end"] == "2026-12-02T12:00:00Z"
    assert ticket["group"] == "dba", "a value given on the command line wins over the template"


def test_standard_change_keeps_the_summary_given_with_s(desk: Gitdesk) -> None:
    tid = desk.open("change", "--standard", "add-dns-record", "-s", "Add www2 to the zone")
    ticket = data(desk, tid)
    assert ticket["standard_change"] == "add-dns-record"
    assert ticket["summary"] == "Add www2 to the zone"


def test_standard_change_is_pre_authorized(desk: Gitdesk) -> None:
    """The ITIL policy asks the CAB for normal changes: a standard change from its
    template needs no approval, a normal one does."""
    standard = desk.open("change", "--standard", "add-dns-record",
                         "--window", "2026-12-01T09:00:00Z")
    before = desk.commits()
    desk.ok("transition", standard, "scheduled")
    assert desk.commits() == before + 1
    assert data(desk, standard)["status"] == "scheduled"
    desk.ok("transition", standard, "implement")
    desk.ok("transition", standard, "review")
    desk.ok("close", standard, "--outcome", "successful")

    normal = ready(desk)
    refused(desk, "transition", normal, "scheduled", code=1,
            says=("cannot move to scheduled", "needs 1 approval(s) from group cab"))


def test_a_rule_that_selects_a_standard_change_is_enforced(desk: Gitdesk) -> None:
    """A policy rule selecting every change holds for standard changes too: they are
    pre-authorized only when no rule asks approvals of them."""
    use_policy(desk, CAB_FOR_ALL_CHANGES)
    standard = desk.open("change", "--standard", "add-dns-record",
                         "--window", "2026-12-01T09:00:00Z")
    refused(desk, "transition", standard, "scheduled", code=1,
            says=("cannot move to scheduled", "needs 1 approval(s) from group cab",
                  "ask: test, mia"))


def test_a_standard_change_stays_within_its_template(desk: Gitdesk) -> None:
    standard = desk.open("change", "--standard", "add-dns-record",
                         "--window", "2026-12-01T09:00:00Z")
    head = desk.commits()
    refused(desk, "set", standard, "implementation_plan=DROP DATABASE billing", code=1,
            says=("implementation_plan is not what the standard change add-dns-record gives",
                  "--change-type normal"))
    refused(desk, "open", "change", "--standard", "add-dns-record", "--risk", "high", code=1,
            says=("risk is not what the standard change add-dns-record gives",))
    assert desk.commits() == head


def test_standard_change_without_a_window_cannot_be_scheduled(desk: Gitdesk) -> None:
    tid = desk.open("change", "--standard", "add-dns-record")
    refused(desk, "transition", tid, "scheduled", code=1, says=("scheduled requires window",))
    refused(desk, "transition", tid, "assess", code=1,
            says=("'assess' is not a state of the change-standard workflow",))


def test_standard_change_refusals(desk: Gitdesk) -> None:
    templates = "restart-web-service, add-dns-record"
    refused(desk, "open", "change", "-s", "x", "--change-type", "standard", code=2,
            says=("--standard NAME", templates))
    refused(desk, "open", "change", "-s", "x", "--standard", "reboot-everything", code=2,
            says=("no standard change 'reboot-everything'", templates))
    refused(desk, "open", "change", "--standard", "add-dns-record", "--change-type", "normal",
            code=2, says=("drop --change-type",))
    refused(desk, "open", "incident", "-s", "x", "--standard", "add-dns-record", code=2,
            says=("--standard opens a standard change",))


# --- cancel and close -----------------------------------------------------------------------

@pytest.mark.slow
def test_every_change_type_can_be_cancelled_from_any_open_state(open_desk: Gitdesk) -> None:
    desk = open_desk
    normal = ("assess", "authorize", "scheduled", "implement", "review")
    cases: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        (("-s", "Normal", "--risk", "low"), normal[:i]) for i in range(len(normal) + 1)]
    emergency = ("authorize", "scheduled", "implement", "review")
    cases += [(("-s", "Hotfix", "--change-type", "emergency", "--risk", "high"), emergency[:i])
              for i in range(len(emergency) + 1)]
    standard = ("scheduled", "implement", "review")
    cases += [(("--standard", "add-dns-record"), standard[:i])
              for i in range(len(standard) + 1)]
    for args, steps in cases:
        tid = desk.open("change", *args, "--window", "2026-12-01T22:00:00Z/1h")
        if "--standard" not in args:  # a standard change's plans are its template's
            desk.ok("set", tid, *PLANS)
        for state in steps:
            desk.ok("transition", tid, state)
        desk.ok("cancel", tid, "-m", "Not needed")
        assert data(desk, tid)["status"] == "cancelled", (args, steps)
        refused(desk, "cancel", tid, code=1, says=("none: it is final",))


def test_closing_needs_an_outcome(open_desk: Gitdesk) -> None:
    desk = open_desk
    tids = []
    for _ in range(3):
        tid = ready(desk)
        for state in ("scheduled", "implement", "review"):
            desk.ok("transition", tid, state)
        tids.append(tid)
    refused(desk, "close", tids[0], code=1, says=("closed requires outcome", "--outcome"))
    refused(desk, "close", tids[0], "--outcome", "meh", code=2,
            says=("--outcome: 'meh' is not one of: successful, failed, backed-out",))
    for tid, outcome in zip(tids, ("successful", "failed", "backed-out"), strict=True):
        desk.ok("close", tid, "--outcome", outcome)
        assert data(desk, tid)["outcome"] == outcome
        refused(desk, "cancel", tid, code=1, says=("none: it is final",))


# --- risk ------------------------------------------------------------------------------------

QUESTIONS = ("outage", "untested", "no-backout", "many-users", "vendor")


def test_risk_questionnaire_sets_the_level(desk: Gitdesk) -> None:
    for yes, level, score in [
            ((), "low", 0), (("vendor",), "low", 1), (("untested", "vendor"), "medium", 3),
            (("outage",), "medium", 3), (("outage", "vendor", "untested"), "high", 6),
            (QUESTIONS, "high", 11)]:
        tid = desk.open("change", "-s", f"Risk {level} {score}")
        answers = [f"{q}={'yes' if q in yes else 'no'}" for q in QUESTIONS]
        run = desk("risk", tid, *(arg for a in answers for arg in ("--answer", a)))
        run.ok()
        assert f"risk — {level} (score {score})" in run.stderr
        ticket = data(desk, tid)
        assert ticket["risk"] == level
        assert ticket["risk_answers"] == {q: q in yes for q in QUESTIONS}
        assert ticket["notes"][-1]["text"].startswith(f"Risk assessed {level} (score {score}")


def test_risk_questionnaire_refusals(desk: Gitdesk) -> None:
    tid = desk.open("change", "-s", "x")
    for answers, says in [
            (("outage=yes",), "missing --answer untested"),
            ((*NO_TO_ALL[1::2], "aliens=yes"), "unknown question 'aliens'"),
            (("outage=maybe",), "expected ID=yes|no"),
            (("outage",), "expected ID=yes|no")]:
        refused(desk, "risk", tid, *(arg for a in answers for arg in ("--answer", a)), code=2,
                says=(says,))
    assert "risk" not in data(desk, tid)


def test_risk_is_for_changes_and_set_risk_is_checked(desk: Gitdesk) -> None:
    incident = desk.open("incident", "-s", "x")
    refused(desk, "risk", incident, *NO_TO_ALL, code=1, says=("is not a change",))
    tid = desk.open("change", "-s", "x")
    refused(desk, "set", tid, "risk=extreme", code=2, says=("low, medium, high",))
    refused(desk, "open", "change", "-s", "x", "--risk", "extreme", code=2,
            says=("--risk", "low, medium, high"))
    desk.ok("set", tid, "risk=medium")
    assert data(desk, tid)["risk"] == "medium"


# --- windows, CIs, services, fixes ------------------------------------------------------------

def test_window_as_start_end_or_start_duration(desk: Gitdesk) -> None:
    for text, start, end in [
            ("2026-12-01T22:00:00Z/2026-12-02T01:00:00Z", "2026-12-01T22:00:00Z",
             "2026-12-02T01:00:00Z"),
            ("2026-12-01T22:00:00Z/2h", "2026-12-01T22:00:00Z", "2026-12-02T00:00:00Z"),
            ("2026-12-01T22:00:00Z/90m", "2026-12-01T22:00:00Z", "2026-12-01T23:30:00Z"),
            ("2026-12-01T23:00:00+01:00/1d", "2026-12-01T22:00:00Z", "2026-12-02T22:00:00Z")]:
        tid = desk.open("change", "-s", "x", "--window", text)
        assert data(desk, tid)["window"] == {"start": start, "end": end}, text
        desk.ok("set", tid, "window=")
        assert "window" not in data(desk, tid)
        desk.ok("set", tid, f"window={text}")
        assert data(desk, tid)["window"] == {"start": start, "end": end}, text


def test_bad_windows_are_refused(desk: Gitdesk) -> None:
    tid = desk.open("change", "-s", "x")
    for text, says in [
            ("2026-12-01T22:00:00Z", "is not START/END"),
            ("tonight/2h", "start 'tonight' is not a date-time"),
            ("2026-12-01T22:00:00Z/later", "neither a date-time nor a duration"),
            ("2026-12-01T22:00:00Z/2026-12-01T21:00:00Z", "is not after start"),
            ("2026-12-01T22:00:00Z/0h", "is not after start")]:
        refused(desk, "open", "change", "-s", "x", "--window", text, code=2,
                says=("window", says))
        refused(desk, "set", tid, f"window={text}", code=2, says=(says,))


def test_cis_services_and_fixes_links(desk: Gitdesk) -> None:
    problem = desk.open("problem", "-s", "Switch firmware bug")
    other = desk.open("problem", "-s", "Another bug")
    tid = desk.open("change", "-s", "Firmware", "--cis", "sw01, sw02", "--services",
                    "intranet,voip", "--link", f"fixes:{problem}")
    ticket = data(desk, tid)
    assert ticket["cis"] == ["sw01", "sw02"] and ticket["services"] == ["intranet", "voip"]
    assert {"rel": "fixes", "id": problem} in ticket["links"]
    assert {"rel": "fixed-by", "id": tid} in data(desk, problem)["links"]
    desk.ok("link", tid, "fixes", other)
    assert {"rel": "fixed-by", "id": tid} in data(desk, other)["links"]
    desk.ok("set", tid, "cis=sw03", "services=")
    ticket = data(desk, tid)
    assert ticket["cis"] == ["sw03"] and "services" not in ticket


# --- the change calendar ------------------------------------------------------------------------

def calendar(desk: Gitdesk, *args: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(desk.ok("changes", "calendar", "--format", "json",
                                                      *args))
    return result


def test_calendar_lists_windows_in_time_order(open_desk: Gitdesk) -> None:
    desk = open_desk
    late = scheduled(desk, "Late", "2026-12-03T22:00:00Z/1h")
    early = scheduled(desk, "Early", "2026-12-01T22:00:00Z/1h")
    middle = desk.open("change", "-s", "Middle", "--window", "2026-12-02T22:00:00Z/1h")
    desk.open("change", "-s", "No window")
    done = scheduled(desk, "Done", "2026-12-01T10:00:00Z/1h")
    for state in ("implement", "review"):
        desk.ok("transition", done, state)
    desk.ok("close", done, "--outcome", "successful")
    dropped = desk.open("change", "-s", "Dropped", "--window", "2026-12-01T12:00:00Z/1h")
    desk.ok("cancel", dropped)

    rows = calendar(desk)
    assert [r["id"] for r in rows] == [early, middle, late]
    assert rows[0]["start"] == "2026-12-01T22:00:00Z" and rows[0]["end"] == "2026-12-01T23:00:00Z"
    assert rows[0]["status"] == "scheduled" and rows[1]["status"] == "new"
    assert [r["id"] for r in calendar(desk, "--all")] == [done, early, middle, late]
    assert [r["id"] for r in calendar(desk, "--from", "2026-12-02")] == [middle, late]
    assert [r["id"] for r in calendar(desk, "--to", "2026-12-02T22:30:00Z")] == [early, middle]
    assert [r["id"] for r in calendar(desk, "--from", "2026-12-01T22:30:00Z",
                                      "--to", "2026-12-02T22:00:00Z")] == [early]
    table = desk.ok("changes", "calendar")
    assert table.index(early) < table.index(middle) < table.index(late)
    refused(desk, "changes", "calendar", "--from", "soon", code=2, says=("--from",))


def unfold(text: str) -> list[str]:
    """Physical lines (CRLF-separated, each at most 75 octets) joined back to logical lines."""
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    assert all("\n" not in line and "\r" not in line for line in physical)
    for line in physical:
        assert len(line.encode("utf-8")) <= 75, f"line longer than 75 octets: {line!r}"
    logical: list[str] = []
    for line in physical:
        if line.startswith((" ", "\t")):
            assert logical, "a continuation line at the start"
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return logical


def unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            assert value[i] not in ",;", f"unescaped {value[i]!r} in {value!r}"
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_ics(text: str) -> list[dict[str, str]]:
    """A small RFC 5545 reader: components must nest, events come back as dicts."""
    stack: list[str] = []
    events: list[dict[str, str]] = []
    calendar_props: dict[str, str] = {}
    for line in unfold(text):
        name, sep, value = line.partition(":")
        assert sep, f"no ':' in {line!r}"
        name = name.split(";")[0].upper()
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                assert stack == ["VCALENDAR", "VEVENT"]
                events.append({})
        elif name == "END":
            assert stack and stack.pop() == value, f"END:{value} does not match"
        elif stack == ["VCALENDAR", "VEVENT"]:
            events[-1][name] = unescape(value) if name in ("SUMMARY", "DESCRIPTION",
                                                            "CATEGORIES") else value
        else:
            assert stack == ["VCALENDAR"], f"{name} outside VCALENDAR"
            calendar_props[name] = value
    assert stack == [], "unclosed components"
    assert calendar_props["VERSION"] == "2.0" and calendar_props.get("PRODID")
    return events


def test_calendar_ics_imports_into_a_calendar_program(open_desk: Gitdesk,
                                                     gitdesk_bin: str) -> None:
    desk = open_desk
    summary = ("Upgrade core, edge; and backup switches \\ phase 1 — a long title with "
               "ünïcödé characters that surely needs folding into several lines ✓")
    first = scheduled(desk, summary, "2026-12-01T22:00:00Z/2h", "--cis", "sw01,sw02",
                      "--services", "intranet")
    second = scheduled(desk, "Small, quick", "2026-12-05T08:30:00Z/30m")
    # the raw bytes of a real process: CliRunner's stdout would turn CRLF into LF
    proc = subprocess.run([gitdesk_bin, "changes", "calendar", "--format", "ics"],
                          cwd=desk.path, capture_output=True, check=True)
    text = proc.stdout.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == 2 and text.count("END:VEVENT") == 2
    assert "\\, edge\\; and backup switches \\\\ phase 1" in text.replace("\r\n ", "")
    assert "\r\n " in text, "nothing was folded"
    events = parse_ics(text)
    assert [e["SUMMARY"] for e in events] == [f"{first}: {summary}", f"{second}: Small, quick"]
    assert events[0]["DTSTART"] == "20261201T220000Z" and events[0]["DTEND"] == "20261202T000000Z"
    assert events[1]["DTSTART"] == "20261205T083000Z" and events[1]["DTEND"] == "20261205T090000Z"
    assert all(e["UID"].endswith("@gitdesk") for e in events)
    assert events[0]["UID"] != events[1]["UID"]
    assert all(len(e["DTSTAMP"]) == 16 and e["DTSTAMP"].endswith("Z") for e in events)
    assert "CIs: sw01, sw02" in events[0]["DESCRIPTION"]
    assert "services: intranet" in events[0]["DESCRIPTION"]
    assert events[0]["CATEGORIES"] == "emergency"


def test_calendar_html_escapes_ticket_text(open_desk: Gitdesk) -> None:
    desk = open_desk
    scheduled(desk, '<script>alert("owned")</script> & <b>bold</b>', "2026-12-01T22:00:00Z/1h",
              "--cis", "<img src=x>")
    html = desk.ok("changes", "calendar", "--format", "html")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<script>" not in html and "<b>bold</b>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;img src=x&gt;" in html


# --- collisions ---------------------------------------------------------------------------------

def collisions(desk: Gitdesk) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(desk.ok("changes", "collisions", "--format",
                                                      "json"))
    return result


def test_collisions_need_overlap_and_something_shared(desk: Gitdesk) -> None:
    base = desk.open("change", "-s", "Base", "--window", "2026-12-01T22:00:00Z/2h",
                     "--cis", "sw01,sw09", "--services", "intranet", "--group", "network",
                     "--risk", "medium")
    same_ci = desk.open("change", "-s", "Same CI", "--window", "2026-12-01T23:00:00Z/2h",
                        "--cis", "sw01", "--risk", "medium")
    same_service = desk.open("change", "-s", "Same service",
                             "--window", "2026-12-01T21:00:00Z/90m",
                             "--services", "intranet", "--risk", "low")
    same_group = desk.open("change", "-s", "Same group", "--window", "2026-12-01T23:30:00Z/1h",
                           "--group", "network")
    desk.open("change", "-s", "Nothing shared", "--window", "2026-12-01T22:00:00Z/2h",
              "--cis", "db01", "--group", "dba")
    desk.open("change", "-s", "Adjacent", "--window", "2026-12-02T00:00:00Z/1h",
              "--cis", "sw09")
    desk.open("change", "-s", "Another day", "--window", "2026-12-05T22:00:00Z/2h",
              "--cis", "sw01", "--group", "network")
    dropped = desk.open("change", "-s", "Dropped", "--window", "2026-12-01T22:00:00Z/2h",
                        "--cis", "sw01", "--group", "network")
    desk.ok("cancel", dropped)
    found = {frozenset((c["first"], c["second"])): c for c in collisions(desk)}
    assert set(found) == {frozenset((base, same_ci)), frozenset((base, same_service)),
                          frozenset((base, same_group))}
    assert found[frozenset((base, same_ci))]["shared"] == "ci sw01"
    assert found[frozenset((base, same_ci))]["combined_risk"] == "high"
    assert found[frozenset((base, same_ci))]["overlap_start"] == "2026-12-01T23:00:00Z"
    assert found[frozenset((base, same_ci))]["overlap_end"] == "2026-12-02T00:00:00Z"
    assert found[frozenset((base, same_service))]["shared"] == "service intranet"
    assert found[frozenset((base, same_service))]["combined_risk"] == "medium"
    assert found[frozenset((base, same_group))]["shared"] == "group network"
    table = desk.ok("changes", "collisions")
    assert "ci sw01" in table and "service intranet" in table


def test_transition_to_scheduled_warns_about_collisions(open_desk: Gitdesk) -> None:
    desk = open_desk
    first = scheduled(desk, "First", "2026-12-01T22:00:00Z/2h", "--cis", "sw01")
    quiet = ready(desk, "--cis", "db01", window="2026-12-01T22:00:00Z/2h")
    run = desk("transition", quiet, "scheduled")
    run.ok()
    assert "collides" not in run.stderr
    second = ready(desk, "--cis", "sw01,sw02", window="2026-12-01T23:00:00Z/2h")
    before = desk.commits()
    run = desk("transition", second, "scheduled")
    run.ok()
    assert desk.commits() == before + 1, "the warning does not stop the move"
    assert f"warning: {second} collides with {first}" in run.stderr
    assert "shares ci sw01" in run.stderr and "combined risk" in run.stderr
    assert run.stdout == ""
    assert data(desk, second)["status"] == "scheduled"
