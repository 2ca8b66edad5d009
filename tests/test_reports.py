"""Reports on a crafted desk whose history is back-dated: every number is worked out by
hand below from the dates chosen here (see SCENARIO and the comments by each table).

The desk as of AS_OF = 2026-09-01T12:00:00Z (a Tuesday; all times UTC):

  key  type      priority  group         opened       what happened
  I1   incident  critical  network       08-27 12:00  resolved 08-27 14:00 (2 h), closed 08-28
  I2   incident  high      servers       08-20 12:00  in-progress; due 08-20 20:00 (past due)
  I3   incident  medium    network       07-20 12:00  resolved 07-21 00:00, reopened 07-25,
                                                      resolved again 07-30 12:00 (10 days)
  I4   incident  low       servers       06-15 12:00  still new; due 06-17 12:00 (past due)
  I5   incident  low       servers       05-01 12:00  resolved 05-04 12:00 (3 days)
  I6   incident  medium    -             08-30 12:00  cancelled 08-31 (closed, not resolved)
  I7   incident  medium    service-desk  09-01 06:00  new; due 09-02 06:00 (not yet due)
  I8   incident  medium    -             09-05 12:00  (after AS_OF: does not exist yet)
  I9   incident  medium    network       08-01 12:00  resolved 08-03 12:00 (2 days), closed
  I10  incident  medium    service-desk  08-05 12:00  resolved 08-05 18:00 (6 h)
  R1   request   medium    service-desk  08-22 12:00  resolved 08-22 15:36 (3.6 h = 0.15 d;
                                                      within its catalog target 4 h too)
  P1   problem   medium    -             07-01 12:00  resolved 08-01 12:00 (31 days; no due)
  C1   change    standard  servers       07-03 12:00  closed successful 07-06 12:00 (3 days)
  C2   change    emergency -             07-09 12:00  closed failed 07-10 12:00 (1 day)
  C3   change    normal    -             07-15 12:00  new; window 09-10 22:00 + 2 h
  C4   change    normal    -             07-16 12:00  cancelled 07-17
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.cli import Gitdesk
from support.git import fsck, isolate

AS_OF = "2026-09-01T12:00:00Z"
POLICY = """\
version: 1
people:
  test: {name: Test User, email: test@example.org}
  nina: {name: Nina Network, email: nina@example.org}
  sam: {name: Sam Servers, email: sam@example.org}
groups:
  service-desk: {members: [test]}
  network: {members: [nina]}
  servers: {members: [sam]}
  dba: {members: []}
  managers: {members: [test]}
  procurement: {members: []}
  cab: {members: [test]}
  ecab: {members: [test]}
admins: [test]
rules: []
"""
HANS = "Hans <hans@example.org>"

# (when, ticket key, command): run in time order; "{X}" is ticket X's ID.
SCENARIO: list[tuple[str, str, list[str]]] = [
    ("2026-05-01T12:00:00Z", "I5", ["open", "incident", "-s", "Mail queue stuck", "--impact",
                                    "medium", "--urgency", "low", "--group", "servers",
                                    "--assignee", "sam", "--ci", "mail01", "--submitter", HANS]),
    ("2026-05-04T12:00:00Z", "I5", ["resolve", "{I5}", "--code", "fixed", "-m", "Flushed"]),
    ("2026-06-15T12:00:00Z", "I4", ["open", "incident", "-s", "Printer jams", "--impact",
                                    "medium", "--urgency", "low", "--group", "servers"]),
    ("2026-07-01T12:00:00Z", "P1", ["open", "problem", "-s", "Recurring mail outages"]),
    ("2026-07-02T12:00:00Z", "P1", ["transition", "{P1}", "assess"]),
    ("2026-07-03T12:00:00Z", "C1", ["open", "change", "--standard", "restart-web-service",
                                    "--cis", "web01", "--window", "2026-07-05T22:00:00Z/15m"]),
    ("2026-07-04T12:00:00Z", "C1", ["transition", "{C1}", "scheduled"]),
    ("2026-07-05T22:00:00Z", "C1", ["transition", "{C1}", "implement"]),
    ("2026-07-05T23:00:00Z", "C1", ["transition", "{C1}", "review"]),
    ("2026-07-06T12:00:00Z", "C1", ["close", "{C1}", "--outcome", "successful", "-m", "Healthy"]),
    ("2026-07-09T12:00:00Z", "C2", ["open", "change", "-s", "Patch VPN", "--change-type",
                                    "emergency", "--cis", "web01,db01", "--risk", "high",
                                    "--window", "2026-07-10T01:00:00Z/1h"]),
    ("2026-07-09T13:00:00Z", "C2", ["set", "{C2}", "implementation_plan=Apply the hotfix",
                                    "backout_plan=Uninstall it"]),
    ("2026-07-09T14:00:00Z", "C2", ["transition", "{C2}", "authorize"]),
    ("2026-07-09T15:00:00Z", "C2", ["transition", "{C2}", "scheduled"]),
    ("2026-07-10T01:00:00Z", "C2", ["transition", "{C2}", "implement"]),
    ("2026-07-10T02:00:00Z", "C2", ["transition", "{C2}", "review"]),
    ("2026-07-10T12:00:00Z", "C2", ["close", "{C2}", "--outcome", "failed", "-m", "Broke logins"]),
    ("2026-07-15T12:00:00Z", "C3", ["open", "change", "-s", "Core switch firmware", "--cis",
                                    "sw01", "--risk", "low", "--window",
                                    "2026-09-10T22:00:00Z/2h"]),
    ("2026-07-16T12:00:00Z", "C4", ["open", "change", "-s", "Old router swap"]),
    ("2026-07-17T12:00:00Z", "C4", ["cancel", "{C4}", "-m", "Not needed"]),
    ("2026-07-20T12:00:00Z", "I3", ["open", "incident", "-s", "VPN drops", "--group", "network",
                                    "--assignee", "nina", "--ci", "vpn01", "--field",
                                    "outage_minutes=45"]),
    ("2026-07-21T00:00:00Z", "I3", ["resolve", "{I3}", "--code", "configuration-change",
                                    "-m", "MTU lowered"]),
    ("2026-07-25T12:00:00Z", "I3", ["reopen", "{I3}", "-m", "Drops again"]),
    ("2026-07-30T12:00:00Z", "I3", ["resolve", "{I3}", "--code", "software-patch",
                                    "-m", "Firmware updated"]),
    ("2026-08-01T12:00:00Z", "P1", ["resolve", "{P1}", "--code", "hardware-repair",
                                    "-m", "Disk replaced"]),
    ("2026-08-01T12:00:00Z", "I9", ["open", "incident", "-s", "Email bounces", "--group",
                                    "network", "--assignee", "nina"]),
    ("2026-08-03T12:00:00Z", "I9", ["resolve", "{I9}", "--code", "fixed", "-m", "MX fixed"]),
    ("2026-08-04T12:00:00Z", "I9", ["close", "{I9}"]),
    ("2026-08-05T12:00:00Z", "I10", ["open", "incident", "-s", "Password expired", "--group",
                                     "service-desk", "--assignee", "test", "--submitter",
                                     "Ann <ann@example.org>"]),
    ("2026-08-05T18:00:00Z", "I10", ["resolve", "{I10}", "--code", "user-error", "-m", "Reset"]),
    ("2026-08-20T12:00:00Z", "I2", ["open", "incident", "-s", "Database slow", "--impact", "high",
                                    "--urgency", "medium", "--group", "servers", "--assignee",
                                    "sam", "--ci", "db01", "--field", "outage_minutes=120"]),
    ("2026-08-21T12:00:00Z", "I2", ["transition", "{I2}", "in-progress"]),
    ("2026-08-22T12:00:00Z", "R1", ["open", "request", "-s", "Reset password", "--request-type",
                                    "password-reset", "--submitter", HANS]),
    ("2026-08-22T15:36:00Z", "R1", ["resolve", "{R1}", "--code", "fixed", "-m", "Done"]),
    ("2026-08-27T12:00:00Z", "I1", ["open", "incident", "-s", "Web site down", "--impact", "high",
                                    "--urgency", "high", "--group", "network", "--assignee",
                                    "nina", "--ci", "web01", "--field", "outage_minutes=30"]),
    ("2026-08-27T14:00:00Z", "I1", ["resolve", "{I1}", "--code", "fixed", "-m", "Restarted"]),
    ("2026-08-28T12:00:00Z", "I1", ["close", "{I1}"]),
    ("2026-08-30T12:00:00Z", "I6", ["open", "incident", "-s", "Duplicate report"]),
    ("2026-08-31T12:00:00Z", "I6", ["cancel", "{I6}", "-m", "Duplicate of the web outage"]),
    ("2026-09-01T06:00:00Z", "I7", ["open", "incident", "-s", "Slow laptop", "--group",
                                    "service-desk"]),
    ("2026-09-05T12:00:00Z", "I8", ["open", "incident", "-s", "Future outage"]),
]


@dataclass
class Crafted:
    desk: Gitdesk
    ids: dict[str, str]
    commits: dict[tuple[str, str], str]  # (ticket key, when) -> commit


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crafted]:
    """The desk of the module docstring, built once (the same isolation as conftest's)."""
    base = tmp_path_factory.mktemp("crafted")
    with pytest.MonkeyPatch.context() as mp:
        home = isolate(mp, base)
        assert Gitdesk(base)("init", str(base / "desk")).exit_code == 0
        desk = Gitdesk(base / "desk")
        (desk.path / ".gitdesk" / "policy.yaml").write_text(POLICY)
        desk.git("add", ".gitdesk/policy.yaml")
        desk.git("commit", "-q", "-m", "policy: the team, no approval rules")
        ids: dict[str, str] = {}
        commits: dict[tuple[str, str], str] = {}
        for when, key, command in sorted(SCENARIO, key=lambda step: step[0]):
            args = [arg.format(**ids) if arg.startswith("{") else arg for arg in command]
            out = desk.ok(*args, env={"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when})
            if command[0] == "open":
                ids[key] = out.strip()
            commits[(key, when)] = desk.git("rev-parse", "HEAD").strip()
        assert not list(home.iterdir())
    yield Crafted(desk, ids, commits)
    fsck(desk.path)


def report(c: Crafted, name: str, *args: str, as_of: str = AS_OF) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(c.desk.ok("report", name, "--as-of", as_of, *args,
                                                "--format", "json"))
    return data


def table(data: dict[str, Any], index: int = 0) -> list[list[Any]]:
    """A section's rows as lists, in column order."""
    section = data["sections"][index]
    return [[row[col] for col in section["columns"]] for row in section["rows"]]


def named(c: Crafted, rows: list[list[Any]]) -> list[list[Any]]:
    """Ticket IDs replaced by their keys (I1, C3, ...) so expectations read like the table."""
    keys = {tid: key for key, tid in c.ids.items()}
    return [[keys.get(v, v) if isinstance(v, str) else v for v in row] for row in rows]


# --- summary ------------------------------------------------------------------------------

def test_summary(crafted: Crafted) -> None:
    data = report(crafted, "summary")
    assert data["as_of"] == AS_OF
    assert data["sections"][0]["columns"] == ["type", "open", "closed", "past due", "total"]
    # incidents: open I2 I4 I7; closed I1 I3 I5 I6 I9 I10; past due I2 I4; I8 not yet opened
    # changes: C3 open; C1 C2 C4 closed; changes and problems have no due time
    assert table(data) == [["incident", 3, 6, 2, 9], ["request", 0, 1, 0, 1],
                           ["problem", 0, 1, 0, 1], ["change", 1, 3, 0, 4],
                           ["all", 4, 11, 2, 15]]


# --- aging --------------------------------------------------------------------------------

def test_aging(crafted: Crafted) -> None:
    data = report(crafted, "aging")
    assert data["sections"][0]["columns"] == ["age", "issued", "closed", "open"]
    # days since opened: I1 5, I2 12 (open), I6 2, I7 0.25 (open), I10 27, R1 10 -> 0-30
    # I3 43, I9 31, C2 54, C3 48 (open), C4 47 -> 30-60
    # I4 78 (open), P1 62, C1 60 (exactly: the edge belongs to the upper bucket) -> 60-90
    # I5 123 -> >90
    assert table(data) == [["0-30 days", 6, 4, 2], ["30-60 days", 5, 4, 1],
                           ["60-90 days", 3, 2, 1], [">90 days", 1, 1, 0],
                           ["total", 15, 11, 4]]


def test_aging_with_custom_buckets(crafted: Crafted) -> None:
    # <7: I1 I6 I7(open); 7-45: I2(open) I3 I9 I10 R1; >45: I4(open) C3(open) I5 P1 C1 C2 C4
    assert table(report(crafted, "aging", "--buckets", "7,45")) == [
        ["0-7 days", 3, 2, 1], ["7-45 days", 5, 4, 1], [">45 days", 7, 5, 2],
        ["total", 15, 11, 4]]
    # a single edge
    assert table(report(crafted, "aging", "--buckets", "100")) == [
        ["0-100 days", 14, 10, 4], [">100 days", 1, 1, 0], ["total", 15, 11, 4]]


@pytest.mark.parametrize("buckets", ["60,30", "0,10", "a,b", "30,30"])
def test_bad_buckets_are_a_usage_error(crafted: Crafted, buckets: str) -> None:
    run = crafted.desk("report", "aging", "--as-of", AS_OF, "--buckets", buckets)
    assert run.exit_code == 2 and "--buckets" in run.stderr and run.stdout == ""


# --- resolution ---------------------------------------------------------------------------

def test_resolution_all_types(crafted: Crafted) -> None:
    data = report(crafted, "resolution")
    # resolved, in days: I1 0.083, R1 0.15, I10 0.25, C2 1 -> 0-2; I9 2 (edge), I5 3, C1 3 -> 2-7
    # I3 10 -> 7-30; P1 31 -> 30-60. Cancelled I6 and C4 are not resolutions.
    assert table(data) == [["0-2 days", 4], ["2-7 days", 3], ["7-30 days", 1],
                           ["30-60 days", 1], [">60 days", 0], ["total", 9]]
    # medium: 0.15 0.25 1 2 3 10 31 -> median 2, mean 47.4/7 = 6.771
    # all: + 0.0833 (critical) + 3 (low) -> median 2, mean 50.4833/9 = 5.609
    assert data["sections"][1]["columns"] == ["priority", "resolved", "median", "mean"]
    assert table(data, 1) == [["critical", 1, 0.08, 0.08], ["medium", 7, 2.0, 6.77],
                              ["low", 1, 3.0, 3.0], ["all", 9, 2.0, 5.61]]


def test_resolution_of_incidents(crafted: Crafted) -> None:
    data = report(crafted, "resolution", "--type", "incident")
    assert table(data) == [["0-2 days", 2], ["2-7 days", 2], ["7-30 days", 1],
                           ["30-60 days", 0], [">60 days", 0], ["total", 5]]
    # critical: 2 h = 0.0833; medium: 10, 2, 0.25 -> median 2, mean 4.083; low: 3
    # all: 0.0833 0.25 2 3 10 -> median 2, mean 15.3333/5 = 3.067
    assert table(data, 1) == [["critical", 1, 0.08, 0.08], ["medium", 3, 2.0, 4.08],
                              ["low", 1, 3.0, 3.0], ["all", 5, 2.0, 3.07]]
    assert table(report(crafted, "resolution", "--type", "incident", "--buckets", "1,5")) == [
        ["0-1 days", 2], ["1-5 days", 2], [">5 days", 1], ["total", 5]]


def test_reopened_ticket_resolution_runs_to_the_final_resolution(crafted: Crafted) -> None:
    only_i3 = ("--where", "ci = vpn01")
    # I3: opened 07-20 12:00, resolved 07-21 00:00, reopened 07-25, resolved 07-30 12:00:
    # 10 days from opening to the final resolution (not 0.5, not 5)
    data = report(crafted, "resolution", *only_i3)
    assert table(data) == [["0-2 days", 0], ["2-7 days", 0], ["7-30 days", 1],
                           ["30-60 days", 0], [">60 days", 0], ["total", 1]]
    assert table(data, 1) == [["medium", 1, 10.0, 10.0], ["all", 1, 10.0, 10.0]]
    # while it was reopened it was open again, past due (due 07-21 12:00), and unresolved
    during = report(crafted, "resolution", *only_i3, as_of="2026-07-27T12:00:00Z")
    assert table(during)[-1] == ["total", 0]
    assert table(report(crafted, "summary", *only_i3, as_of="2026-07-27T12:00:00Z")) == [
        ["incident", 1, 0, 1, 1], ["all", 1, 0, 1, 1]]
    # after its first resolution: 0.5 days
    first = report(crafted, "resolution", *only_i3, as_of="2026-07-22T12:00:00Z")
    assert table(first, 1) == [["medium", 1, 0.5, 0.5], ["all", 1, 0.5, 0.5]]
    detail = named(crafted, table(report(crafted, "detail", *only_i3)))
    assert [row[:1] + row[5:8] for row in detail] == [
        ["I3", "resolved", "2026-07-30T12:00:00Z", "2026-07-20T12:00:00Z"]]


# --- past due -----------------------------------------------------------------------------

def test_past_due(crafted: Crafted) -> None:
    data = report(crafted, "past-due")
    # I2 due 08-20 20:00: 11 d 16 h = 11.67 days past due; I4 due 06-17 12:00: 76 days.
    # I7 (due 09-02) is not yet due; resolved, cancelled and due-less tickets never are.
    assert table(data) == [["0-2 days", 0], ["2-7 days", 0], ["7-30 days", 1],
                           ["30-60 days", 0], [">60 days", 1], ["total", 2]]
    assert data["sections"][1]["columns"] == ["id", "priority", "assignee", "due",
                                              "days past due", "summary"]
    assert named(crafted, table(data, 1)) == [
        ["I4", "low", None, "2026-06-17T12:00:00Z", 76.0, "Printer jams"],
        ["I2", "high", "sam", "2026-08-20T20:00:00Z", 11.67, "Database slow"]]
    # on 07-27 12:00: I4 40 days past due; I3 (reopened) 6 days; I2 not opened yet
    earlier = report(crafted, "past-due", as_of="2026-07-27T12:00:00Z")
    assert table(earlier) == [["0-2 days", 0], ["2-7 days", 1], ["7-30 days", 0],
                              ["30-60 days", 1], [">60 days", 0], ["total", 2]]
    assert [row[0] for row in named(crafted, table(earlier, 1))] == ["I4", "I3"]
    assert [row[4] for row in table(earlier, 1)] == [40.0, 6.0]


# --- detail -------------------------------------------------------------------------------

DETAIL_HEADER = ["id", "summary", "ci", "assignee", "priority", "status", "modified", "created",
                 "submitter", "fields.outage_minutes"]
DETAIL = {  # key: the row of `report detail --type incident --field outage_minutes`
    "I5": ["Mail queue stuck", "mail01", "sam", "low", "resolved", "2026-05-04T12:00:00Z",
           "2026-05-01T12:00:00Z", "Hans", ""],
    "I4": ["Printer jams", "", "", "low", "new", "2026-06-15T12:00:00Z",
           "2026-06-15T12:00:00Z", "", ""],
    "I3": ["VPN drops", "vpn01", "nina", "medium", "resolved", "2026-07-30T12:00:00Z",
           "2026-07-20T12:00:00Z", "", "45"],
    "I9": ["Email bounces", "", "nina", "medium", "closed", "2026-08-04T12:00:00Z",
           "2026-08-01T12:00:00Z", "", ""],
    "I10": ["Password expired", "", "test", "medium", "resolved", "2026-08-05T18:00:00Z",
            "2026-08-05T12:00:00Z", "Ann", ""],
    "I2": ["Database slow", "db01", "sam", "high", "in-progress", "2026-08-21T12:00:00Z",
           "2026-08-20T12:00:00Z", "", "120"],
    "I1": ["Web site down", "web01", "nina", "critical", "closed", "2026-08-28T12:00:00Z",
           "2026-08-27T12:00:00Z", "", "30"],
    "I6": ["Duplicate report", "", "", "medium", "cancelled", "2026-08-31T12:00:00Z",
           "2026-08-30T12:00:00Z", "", ""],
    "I7": ["Slow laptop", "", "", "medium", "new", "2026-09-01T06:00:00Z",
           "2026-09-01T06:00:00Z", "", ""],
}


def detail_csv(c: Crafted, *args: str) -> list[list[str]]:
    text = c.desk.ok("report", "detail", "--as-of", AS_OF, "--type", "incident", "--field",
                     "outage_minutes", *args, "--format", "csv")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == DETAIL_HEADER
    return rows[1:]


def order(c: Crafted, rows: list[list[str]]) -> list[str]:
    keys = {tid: key for key, tid in c.ids.items()}
    return [keys[row[0]] for row in rows]


def test_detail_columns_and_rows(crafted: Crafted) -> None:
    rows = detail_csv(crafted)
    # default order: by opening time; I8 does not exist yet
    assert order(crafted, rows) == ["I5", "I4", "I3", "I9", "I10", "I2", "I1", "I6", "I7"]
    for row in rows:
        key = order(crafted, [row])[0]
        assert row[1:] == DETAIL[key], key
    plain = report(crafted, "detail")
    assert plain["sections"][0]["columns"] == DETAIL_HEADER[:-1]
    assert len(plain["sections"][0]["rows"]) == 15


def test_detail_sort(crafted: Crafted) -> None:
    assert order(crafted, detail_csv(crafted, "--sort", "-created")) == [
        "I7", "I6", "I1", "I2", "I10", "I9", "I3", "I4", "I5"]
    # by assignee, empty last; ties keep the default (created) order
    assert order(crafted, detail_csv(crafted, "--sort", "assignee")) == [
        "I3", "I9", "I1", "I5", "I2", "I10", "I4", "I6", "I7"]
    assert order(crafted, detail_csv(crafted, "--sort", "assignee", "--sort", "-created")) == [
        "I1", "I9", "I3", "I2", "I5", "I10", "I7", "I6", "I4"]
    run = crafted.desk("report", "detail", "--as-of", AS_OF, "--sort", "nosuch")
    assert run.exit_code == 2 and "nosuch" in run.stderr


def test_detail_sorts_priorities_by_rank(crafted: Crafted) -> None:
    """As `list --sort priority` does: the config's order (critical, high, medium, low),
    not the alphabet (critical, high, low, medium)."""
    assert order(crafted, detail_csv(crafted, "--sort", "priority")) == [
        "I1", "I2", "I3", "I9", "I10", "I6", "I7", "I5", "I4"]


def test_detail_sorts_a_number_field_as_numbers(crafted: Crafted) -> None:
    # outage_minutes is a number field (format: number): 30 < 45 < 120, empty last
    assert order(crafted, detail_csv(crafted, "--sort", "fields.outage_minutes"))[:3] == [
        "I1", "I3", "I2"]


# --- SLA ----------------------------------------------------------------------------------

def test_sla(crafted: Crafted) -> None:
    data = report(crafted, "sla")
    assert data["sections"][0]["columns"] == ["priority", "resolved", "within target",
                                              "breached", "open past target", "within %"]
    # targets: critical 1 h, high 8 h, medium 24 h, low 48 h (from opening)
    # I1 2 h > 1 h: breached. I2 open since 08-20 12:00 > 8 h: open past target.
    # medium: I3 10 d and I9 2 d breached; I10 6 h and R1 3.6 h within. I7 not due yet.
    # low: I5 3 d breached; I4 open past target. Problems and changes have no target.
    assert table(data) == [["critical", 1, 0, 1, 0, 0.0], ["high", 0, 0, 0, 1, None],
                           ["medium", 4, 2, 2, 0, 50.0], ["low", 1, 0, 1, 1, 0.0],
                           ["all", 6, 2, 4, 2, 33.33]]
    assert data["sections"][1]["columns"][0] == "group"
    assert table(data, 1) == [["network", 3, 0, 3, 0, 0.0], ["servers", 1, 0, 1, 2, 0.0],
                              ["service-desk", 2, 2, 0, 0, 100.0]]
    # hours late: I4 76 d = 1824 h; I2 11 d 16 h = 280 h; I3 10 d - 24 h = 216 h;
    # I5 72 h - 48 h = 24 h; I9 48 h - 24 h = 24 h (ties by id); I1 2 h - 1 h = 1 h
    tied = sorted([crafted.ids["I5"], crafted.ids["I9"]])
    tie = {crafted.ids["I5"]: ["I5", "low", "servers", "breached", 24.0, "Mail queue stuck"],
           crafted.ids["I9"]: ["I9", "medium", "network", "breached", 24.0, "Email bounces"]}
    assert named(crafted, table(data, 2)) == [
        ["I4", "low", "servers", "open breached", 1824.0, "Printer jams"],
        ["I2", "high", "servers", "open breached", 280.0, "Database slow"],
        ["I3", "medium", "network", "breached", 216.0, "VPN drops"],
        tie[tied[0]], tie[tied[1]],
        ["I1", "critical", "network", "breached", 1.0, "Web site down"]]


def test_sla_leaves_out_problems_and_changes(crafted: Crafted) -> None:
    for kind in ("problem", "change"):
        data = report(crafted, "sla", "--type", kind)
        assert table(data) == [["all", 0, 0, 0, 0, None]], kind
        assert table(data, 1) == [] and table(data, 2) == []


# --- changes ------------------------------------------------------------------------------

def test_changes(crafted: Crafted) -> None:
    data = report(crafted, "changes")
    assert data["sections"][0]["columns"] == ["change type", "cancelled", "failed", "open",
                                              "successful", "total", "success %"]
    # success % = successful / reviewed (closed with an outcome; open and cancelled left out)
    assert table(data) == [["standard", 0, 0, 0, 1, 1, 100.0],
                           ["normal", 1, 0, 1, 0, 2, None],
                           ["emergency", 0, 1, 0, 0, 1, 0.0],
                           ["all", 1, 1, 1, 1, 4, 50.0]]
    assert table(data, 1) == [[4, 1, 25.0]]
    assert table(data, 2) == [["web01", 2], ["db01", 1], ["sw01", 1]]
    assert named(crafted, table(data, 3)) == [
        ["2026-09-10T22:00:00Z", "2026-09-11T00:00:00Z", "C3", "normal", "new", "low",
         "Core switch firmware"]]
    # on 07-05 12:00 only C1 existed, scheduled for that night
    before = report(crafted, "changes", as_of="2026-07-05T12:00:00Z")
    assert table(before) == [["standard", 1, 1, None], ["all", 1, 1, None]]
    assert table(before, 1) == [[1, 0, 0.0]]
    assert named(crafted, table(before, 3)) == [
        ["2026-07-05T22:00:00Z", "2026-07-05T22:15:00Z", "C1", "standard", "scheduled", "low",
         "Restart the web service on a web server"]]


# --- weekly -------------------------------------------------------------------------------

def test_weekly(crafted: Crafted) -> None:
    data = report(crafted, "weekly")
    section = data["sections"][0]
    assert section["title"] == "The week 2026-08-25T12:00:00Z to 2026-09-01T12:00:00Z"
    assert section["columns"] == ["metric", "this week", "previous week", "change"]
    # this week (08-25 12:00, 09-01 12:00]: opened I1 I6 I7; resolved I1 (2 h, breached);
    #   open at the end I2 I4 I7 C3; past due I2 I4
    # the week before (08-18 12:00, 08-25 12:00]: opened I2 R1; resolved R1 (0.15 d, within);
    #   open at its end I2 I4 C3; past due I2 I4
    assert table(data) == [["opened", 3, 2, 1], ["resolved", 1, 1, 0],
                           ["backlog (open)", 4, 3, 1], ["past due", 2, 2, 0],
                           ["resolved within target %", 0.0, 100.0, -100.0],
                           ["median days to resolve", 0.08, 0.15, -0.07]]
    assert table(data, 1) == [["incident", 3, 1, 3], ["request", 0, 0, 0],
                              ["problem", 0, 0, 0], ["change", 0, 0, 1]]
    incidents = report(crafted, "weekly", "--type", "incident")
    assert table(incidents) == [["opened", 3, 1, 2], ["resolved", 1, 0, 1],
                                ["backlog (open)", 3, 2, 1], ["past due", 2, 2, 0],
                                ["resolved within target %", 0.0, None, None],
                                ["median days to resolve", 0.08, None, None]]


def test_weekly_honours_where(crafted: Crafted) -> None:
    """--where is accepted by every report; the weekly one must apply it too."""
    # network: I1 (opened and resolved this week), I3 and I9 (resolved long before)
    data = report(crafted, "weekly", "--where", "group = network")
    assert table(data) == [["opened", 1, 0, 1], ["resolved", 1, 0, 1],
                           ["backlog (open)", 0, 0, 0], ["past due", 0, 0, 0],
                           ["resolved within target %", 0.0, None, None],
                           ["median days to resolve", 0.08, None, None]]
    assert table(data, 1) == [["incident", 1, 1, 0], ["request", 0, 0, 0],
                              ["problem", 0, 0, 0], ["change", 0, 0, 0]]


# --- as of --------------------------------------------------------------------------------

def test_as_of_a_past_date(crafted: Crafted) -> None:
    # 07-22 12:00: I5 resolved, I4 open and past due, I3 resolved (first time); P1 in assess;
    # C1 C2 closed, C4 cancelled, C3 open; nothing else opened yet
    expected = [["incident", 1, 2, 1, 3], ["problem", 1, 0, 0, 1], ["change", 1, 3, 0, 4],
                ["all", 3, 5, 1, 8]]
    data = report(crafted, "summary", as_of="2026-07-22T12:00:00Z")
    assert data["as_of"] == "2026-07-22T12:00:00Z"
    assert table(data) == expected
    whole_day = report(crafted, "summary", as_of="2026-07-22")  # a date: its end
    assert whole_day["as_of"] == "2026-07-22T23:59:59Z"
    assert table(whole_day) == expected
    # 07-27 12:00: I3 reopened, open and past due again
    assert table(report(crafted, "summary", as_of="2026-07-27T12:00:00Z")) == [
        ["incident", 2, 1, 2, 3], ["problem", 1, 0, 0, 1], ["change", 1, 3, 0, 4],
        ["all", 4, 4, 2, 8]]
    # before anything was opened
    assert table(report(crafted, "summary", as_of="2026-04-01T00:00:00Z")) == [
        ["all", 0, 0, 0, 0]]
    # a moment is inclusive: at I1's opening commit I1 exists, a second before it does not
    at_open = report(crafted, "detail", "--type", "incident", as_of="2026-08-27T12:00:00Z")
    before = report(crafted, "detail", "--type", "incident", as_of="2026-08-27T11:59:59Z")
    assert len(at_open["sections"][0]["rows"]) == len(before["sections"][0]["rows"]) + 1


def test_as_of_a_revision(crafted: Crafted) -> None:
    rev = crafted.commits[("I3", "2026-07-30T12:00:00Z")]  # I3's final resolution
    for name in ("summary", "resolution", "past-due", "detail", "sla", "changes", "weekly"):
        for fmt in ("json", "text"):
            by_rev = crafted.desk.ok("report", name, "--as-of", rev, "--format", fmt)
            by_date = crafted.desk.ok("report", name, "--as-of", "2026-07-30T12:00:00Z",
                                      "--format", fmt)
            assert by_rev == by_date, (name, fmt)
    crafted.desk.git("tag", "-f", "i3-final", rev)
    data = json.loads(crafted.desk.ok("report", "summary", "--as-of", "i3-final", "--format",
                                      "json"))
    assert data["as_of"] == "2026-07-30T12:00:00Z"
    assert table(data) == [["incident", 1, 2, 1, 3], ["problem", 1, 0, 0, 1],
                           ["change", 1, 3, 0, 4], ["all", 3, 5, 1, 8]]
    run = crafted.desk("report", "summary", "--as-of", "no-such-rev")
    assert run.exit_code != 0 and "no-such-rev" in run.stderr


# --- filters ------------------------------------------------------------------------------

def test_type_filter(crafted: Crafted) -> None:
    assert table(report(crafted, "summary", "--type", "change")) == [
        ["change", 1, 3, 0, 4], ["all", 1, 3, 0, 4]]
    assert table(report(crafted, "summary", "--type", "incident", "--type", "request")) == [
        ["incident", 3, 6, 2, 9], ["request", 0, 1, 0, 1], ["all", 3, 7, 2, 10]]
    # aging of changes: C1 60 d, C2 54 d, C3 48 d (open), C4 47 d
    assert table(report(crafted, "aging", "--type", "change")) == [
        ["0-30 days", 0, 0, 0], ["30-60 days", 3, 2, 1], ["60-90 days", 1, 1, 0],
        [">90 days", 0, 0, 0], ["total", 4, 3, 1]]
    run = crafted.desk("report", "summary", "--as-of", AS_OF, "--type", "incidnet")
    assert run.exit_code == 2 and "incidnet" in run.stderr


def test_from_to_filter(crafted: Crafted) -> None:
    # opened in [08-01 00:00, 09-01 00:00): I9 I10 I2 R1 I1 I6 (I7 opened 09-01 06:00)
    assert table(report(crafted, "summary", "--from", "2026-08-01", "--to", "2026-09-01")) == [
        ["incident", 1, 4, 1, 5], ["request", 0, 1, 0, 1], ["all", 1, 5, 1, 6]]
    # --from is inclusive: I1 was opened at exactly 08-27 12:00
    assert table(report(crafted, "summary", "--from", "2026-08-27T12:00:00Z")) == [
        ["incident", 1, 2, 0, 3], ["all", 1, 2, 0, 3]]
    # --to is exclusive
    assert table(report(crafted, "summary", "--to", "2026-08-27T12:00:00Z",
                        "--type", "incident")) == [["incident", 2, 4, 2, 6], ["all", 2, 4, 2, 6]]
    run = crafted.desk("report", "summary", "--as-of", AS_OF, "--from", "someday")
    assert run.exit_code == 2 and "--from" in run.stderr


def test_where_filter(crafted: Crafted) -> None:
    # network: I1 (5 d), I3 (43 d), I9 (31 d), all closed
    assert table(report(crafted, "summary", "--where", "group = network")) == [
        ["incident", 0, 3, 0, 3], ["all", 0, 3, 0, 3]]
    assert table(report(crafted, "aging", "--where", "group = network")) == [
        ["0-30 days", 1, 1, 0], ["30-60 days", 2, 2, 0], ["60-90 days", 0, 0, 0],
        [">90 days", 0, 0, 0], ["total", 3, 3, 0]]
    # the fields as of the as-of time: on 07-27 I3 was in-progress
    assert table(report(crafted, "summary", "--where", "status = new")) == [
        ["incident", 2, 0, 1, 2], ["change", 1, 0, 0, 1], ["all", 3, 0, 1, 3]]
    assert table(report(crafted, "summary", "--where", "status = in-progress",
                        as_of="2026-07-27T12:00:00Z")) == [
        ["incident", 1, 0, 1, 1], ["all", 1, 0, 1, 1]]
    assert table(report(crafted, "sla", "--where",
                        "priority in (critical, high) and ci ~ web")) == [
        ["critical", 1, 0, 1, 0, 0.0], ["all", 1, 0, 1, 0, 0.0]]
    run = crafted.desk("report", "summary", "--as-of", AS_OF, "--where", "status = = x")
    assert run.exit_code == 2 and "--where" in run.stderr


# --- formats and reproducibility ------------------------------------------------------------

NAMES = ("summary", "aging", "resolution", "past-due", "detail", "sla", "changes", "weekly")
FORMATS = ("text", "markdown", "csv", "json", "html")


def all_outputs(c: Crafted) -> dict[tuple[str, str], str]:
    return {(name, fmt): c.desk.ok("report", name, "--as-of", AS_OF, "--format", fmt)
            for name in NAMES for fmt in FORMATS}


def test_same_inputs_give_byte_identical_output(crafted: Crafted) -> None:
    first = all_outputs(crafted)
    index = crafted.desk.path / ".git" / "gitdesk" / "index.sqlite"
    index.unlink()  # built again from the history
    assert all_outputs(crafted) == first
    run = crafted.desk("reindex")
    assert run.exit_code == 0
    assert all_outputs(crafted) == first
    assert {name: first[(name, "json")] for name in NAMES} == {
        name: crafted.desk.ok("report", name, "--as-of", AS_OF, "--format", "json")
        for name in NAMES}


def test_text_format(crafted: Crafted) -> None:
    text = crafted.desk.ok("report", "summary", "--as-of", AS_OF)
    lines = text.splitlines()
    assert lines[0] == f"Ticket status summary — as of {AS_OF}"
    assert "Status by type" in lines
    body = [line.split() for line in lines]
    assert ["incident", "3", "6", "2", "9"] in body
    assert ["all", "4", "11", "2", "15"] in body
    assert any("Upcoming schedule" in line for line in
               crafted.desk.ok("report", "changes", "--as-of", AS_OF).splitlines())


def test_markdown_format(crafted: Crafted) -> None:
    text = crafted.desk.ok("report", "summary", "--as-of", AS_OF, "--format", "markdown")
    lines = text.splitlines()
    assert lines[0] == "## Ticket status summary"
    at = lines.index("| type | open | closed | past due | total |")
    assert re.fullmatch(r"\|(---\|){5}", lines[at + 1])
    assert lines[at + 2] == "| incident | 3 | 6 | 2 | 9 |"
    assert "| all | 4 | 11 | 2 | 15 |" in lines
    # each table: a header, a |---| line, rows with as many cells as the header
    past = crafted.desk.ok("report", "past-due", "--as-of", AS_OF, "--format", "markdown")
    tables: list[list[str]] = [[]]
    for line in past.splitlines():
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    tables = [t for t in tables if t]
    assert len(tables) == 2
    for rows in tables:
        cells = rows[0].count(" | ") + 1
        assert rows[1] == "|" + "---|" * cells
        assert all(row.count(" | ") + 1 == cells for row in rows[2:])
    assert tables[0][2:] == ["| 0-2 days | 0 |", "| 2-7 days | 0 |", "| 7-30 days | 1 |",
                             "| 30-60 days | 0 |", "| \\>60 days | 1 |", "| total | 2 |"]


def test_csv_format(crafted: Crafted, tmp_path: Path, gitdesk_bin: str) -> None:
    # the bytes as written to a file and to a real stdout (click's test runner turns
    # CRLF into LF in what it captures, so the in-process run is not used for this)
    out = tmp_path / "summary.csv"
    run = crafted.desk("report", "summary", "--as-of", AS_OF, "--format", "csv", "-o", str(out))
    assert run.exit_code == 0 and run.stdout == ""
    data = out.read_bytes()
    proc = subprocess.run([gitdesk_bin, "report", "summary", "--as-of", AS_OF, "--format", "csv"],
                          cwd=crafted.desk.path, capture_output=True, check=True)
    assert proc.stdout == data
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    text = data.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["type", "open", "closed", "past due", "total"]
    assert rows[1:] == [["incident", "3", "6", "2", "9"], ["request", "0", "1", "0", "1"],
                        ["problem", "0", "1", "0", "1"], ["change", "1", "3", "0", "4"],
                        ["all", "4", "11", "2", "15"]]
    # several sections: title row, header row, rows, a blank row between
    sla = list(csv.reader(io.StringIO(
        crafted.desk.ok("report", "sla", "--as-of", AS_OF, "--format", "csv"), newline="")))
    assert sla[0] == ["By priority"]
    assert sla[1] == ["priority", "resolved", "within target", "breached",
                      "open past target", "within %"]
    assert sla[2] == ["critical", "1", "0", "1", "0", "0.0"]
    assert sla[3] == ["high", "0", "0", "0", "1", ""]
    assert [] in sla and ["By group"] in sla


def test_json_format(crafted: Crafted) -> None:
    for name in NAMES:
        data = report(crafted, name)
        assert data["report"] == name and data["as_of"] == AS_OF and data["title"]
        assert data["sections"] and all({"title", "columns", "rows"} <= set(s)
                                        for s in data["sections"])
        assert any("Opened" in d for d in data["definitions"])
    titles = [s["title"] for s in report(crafted, "changes")["sections"]]
    assert titles == ["By type and outcome", "Emergency share", "Changes per CI",
                      "Upcoming schedule"]


def test_html_format(crafted: Crafted) -> None:
    html = crafted.desk.ok("report", "summary", "--as-of", AS_OF, "--format", "html")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Ticket status summary — 2026-09-01T12:00:00Z</title>" in html
    assert "<svg" in html and "</svg>" in html
    row = re.search(r"<tr><td>incident</td>(.*?)</tr>", html)
    assert row is not None
    assert re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1)) == ["3", "6", "2", "9"]


def test_installed_script_gives_the_same_report(crafted: Crafted, gitdesk_bin: str) -> None:
    """The console script, in its own process, agrees with the in-process runs."""
    proc = subprocess.run([gitdesk_bin, "report", "sla", "--as-of", AS_OF, "--format", "json"],
                          cwd=crafted.desk.path, capture_output=True, text=True, check=True)
    assert proc.stdout == crafted.desk.ok("report", "sla", "--as-of", AS_OF, "--format", "json")
