"""The three-way merge of one ticket (domain.merge) and of text (domain.textmerge).

No git: versions are plain data as the YAML reader gives them, made the way
gitdesk's actions make them. Unit tests pin each rule; hypothesis checks that
the merge is symmetric and idempotent, loses no note, approval, event or link,
records every value it overwrites, and keeps tickets valid.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitdesk.actions import tickets as actions
from gitdesk.actions.init import template_file
from gitdesk.domain import ids, schema
from gitdesk.domain.approvals import content_hash
from gitdesk.domain.clock import parse_time
from gitdesk.domain.edits import Context
from gitdesk.domain.merge import Merged, Side, merge_ticket, styled
from gitdesk.domain.model import (
    APPEND_ONLY,
    TEXT_KEYS,
    Flow,
    Link,
    Note,
    Text,
    Ticket,
    new_ticket,
    ticket_path,
)
from gitdesk.domain.textmerge import merge3
from gitdesk.domain.workflow import due_time, reachable
from gitdesk.verify.configs import parse_config, parse_policy
from gitdesk.verify.files import check_file
from gitdesk.yaml import roundtrip as yamlio
from gitdesk.yaml.ticket import parse_blob

CONFIG = parse_config(template_file("itil", "config.yaml"))
POLICY = parse_policy(template_file("itil", "policy.yaml"))
UID = "01JDXK6Q2K9XDMT3VY8A0B5C1E"
OTHER_UID = "01JDXK6Q2KAAAAAAAAAAAAAAAA"
CREATED = "2026-11-25T16:21:00Z"
PRB, CHG, INC2 = "PRB-3MZ81KQA", "CHG-4K2M7Q2K", "INC-8Q2K9XDM"
DERIVED = ("priority", "due", "known_error")
WHEN = int(datetime(2026, 11, 25, 16, 21, tzinfo=UTC).timestamp())  # CREATED


def at(minute: int) -> str:
    return f"2026-11-25T17:{minute:02d}:00Z"


def make(kind: str = "incident", **values: Any) -> dict[str, Any]:
    """A ticket of the kind as gitdesk opens it (then `values` on top), as plain data."""
    prefix = CONFIG.types[kind].prefix
    tid = ids.ticket_id(prefix, UID)
    data: dict[str, Any] = {
        "id": tid, "uid": UID, "type": kind, "summary": "Web down",
        "description": Text("one\ntwo\nthree\nfour"), "impact": "medium", "urgency": "medium",
        "category": "Network", "subcategory": "DNS", "created": CREATED,
        "links": [Flow(rel="related", id=INC2)], "fields": Flow(), "notes": [],
    }
    if kind == "incident":
        data["fields"] = Flow(affected_users="one")
    if kind == "change":
        data.update(change_type="normal", risk="low", cis=["web01"])
    data["status"] = CONFIG.workflow_for(kind, data).initial
    ticket = new_ticket(data, ticket_path(kind, tid))
    actions.derive(CONFIG, ticket, explicit={})
    for key, value in values.items():
        if value is None:
            ticket.unset(key)
        else:
            ticket.set(key, value)
    return ticket.data


def edited(data: dict[str, Any], **values: Any) -> dict[str, Any]:
    """A copy with keys set (None removes one), derived keys kept right as `set` does."""
    ticket = Ticket(styled(data), "")
    set_values(ticket, values)
    return ticket.data


def with_note(data: dict[str, Any], minute: int, text: str, by: str = "gary") -> dict[str, Any]:
    out = styled(data)
    out["notes"] = [*out.get("notes", []), Note(at(minute), by, text).entry()]
    return out


def merge(base: dict[str, Any] | None, ours: dict[str, Any] | None,
          theirs: dict[str, Any] | None, **sides: Any) -> Merged:
    a = Side(ours, sides.get("when_a", 0), sides.get("who_a", "alice"), sides.get("commit_a", ""))
    b = Side(theirs, sides.get("when_b", 0), sides.get("who_b", "bob"), sides.get("commit_b", ""))
    return merge_ticket(CONFIG, base, a, b)


def shape(value: Any) -> Any:
    """The value with every container's type and order, for exact comparisons."""
    if isinstance(value, dict):
        return type(value).__name__, [(k, shape(v)) for k, v in value.items()]
    if isinstance(value, list):
        return "list", [shape(v) for v in value]
    return type(value).__name__, value


def reread(data: dict[str, Any]) -> dict[str, Any]:
    """The data as the YAML reader gives it back from gitdesk's file."""
    loaded = parse_blob(yamlio.dump(data), "t.yaml")
    assert loaded is not None
    return loaded


# --- text ------------------------------------------------------------------------------------

BASE_TEXT = "one\ntwo\nthree\nfour\nfive"


@pytest.mark.parametrize(("ours", "theirs", "merged"), [
    ("ONE\ntwo\nthree\nfour\nfive", "one\ntwo\nthree\nfour\nFIVE", "ONE\ntwo\nthree\nfour\nFIVE"),
    ("ONE\ntwo\nthree\nfour\nfive", "one\nTWO\nthree\nfour\nfive", "ONE\nTWO\nthree\nfour\nfive"),
    ("zero\none\ntwo\nthree\nfour\nfive", "one\ntwo\nthree\nfour\nfive\nsix",
     "zero\none\ntwo\nthree\nfour\nfive\nsix"),
    ("one\nthree\nfour\nfive", "one\ntwo\nthree\nfour\nFIVE", "one\nthree\nfour\nFIVE"),
    ("one\ntwo\nTHREE\nfour\nfive", "one\ntwo\nTHREE\nfour\nfive", "one\ntwo\nTHREE\nfour\nfive"),
    (BASE_TEXT, "one\ntwo\n3\nfour\nfive", "one\ntwo\n3\nfour\nfive"),
])
def test_merge3_keeps_both_sides_changes_of_different_lines(ours: str, theirs: str,
                                                            merged: str) -> None:
    assert merge3(BASE_TEXT, ours, theirs) == merged
    assert merge3(BASE_TEXT, theirs, ours) == merged


@pytest.mark.parametrize(("ours", "theirs"), [
    ("one\nTWO\nthree\nfour\nfive", "one\n2\nthree\nfour\nfive"),           # the same line
    ("one\nTWO\nTHREE\nfour\nfive", "one\ntwo\n3\nfour\nfive"),             # overlapping
    ("one\ntwo\nnew\nthree\nfour\nfive", "one\ntwo\nother\nthree\nfour\nfive"),  # same place
    ("one\ntwo\nnew\nthree\nfour\nfive", "one\ntwo\nTHREE\nfour\nfive"),    # next to a change
    ("one\nfive", "one\ntwo\nTHREE\nfour\nfive"),                           # deleted vs changed
])
def test_merge3_refuses_changes_that_meet(ours: str, theirs: str) -> None:
    assert merge3(BASE_TEXT, ours, theirs) is None
    assert merge3(BASE_TEXT, theirs, ours) is None


def test_merge3_from_nothing_and_with_trailing_newlines() -> None:
    assert merge3("", "a", "b") is None
    assert merge3("", "a", "a") == "a"
    assert merge3("a\nb\n", "A\nb\n", "a\nb\nc\n") == "A\nb\nc\n"


LINES = st.lists(st.sampled_from(["a", "b", "c", "", "d"]), max_size=6).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(base=LINES, ours=LINES, theirs=LINES)
def test_merge3_is_symmetric_and_a_side_alone_wins(base: str, ours: str, theirs: str) -> None:
    assert merge3(base, ours, theirs) == merge3(base, theirs, ours)
    assert merge3(base, ours, base) == ours
    assert merge3(base, base, theirs) == theirs
    assert merge3(base, ours, ours) == ours


# --- values ----------------------------------------------------------------------------------

def test_a_value_changed_on_one_side_is_taken() -> None:
    base = make()
    ours = edited(base, summary="Web slow")
    theirs = edited(base, assignee="gary")
    result = merge(base, ours, theirs)
    assert result.data is not None
    assert (result.data["summary"], result.data["assignee"]) == ("Web slow", "gary")
    assert result.conflicts == [] and "conflicts" not in result.data


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    base = make()
    result = merge(base, edited(base, group="network"), edited(base, group="network"))
    assert result.data is not None and result.data["group"] == "network"
    assert result.conflicts == []


def test_different_changes_keep_the_later_commit_and_record_the_other() -> None:
    base = make()
    ours, theirs = edited(base, summary="Web slow"), edited(base, summary="Web broken")
    result = merge(base, ours, theirs, when_a=WHEN, commit_a="a" * 40,
                   when_b=WHEN + 60, commit_b="b" * 40)
    assert result.data is not None and result.data["summary"] == "Web broken"
    entry = {"field": "summary", "value": "Web slow", "kept": "Web broken", "by": "alice",
             "at": CREATED, "commit": "a" * 40}
    assert result.conflicts == [entry]
    assert result.data["conflicts"] == [entry]
    assert all(isinstance(e, Flow) for e in result.data["conflicts"])


def test_ties_go_to_the_larger_commit_then_the_larger_value() -> None:
    base = make()
    ours, theirs = edited(base, ci="web01"), edited(base, ci="web02")
    same_time = merge(base, ours, theirs, when_a=5, when_b=5, commit_a="c" * 40,
                      commit_b="b" * 40)
    assert same_time.data is not None and same_time.data["ci"] == "web01"
    unknown = merge(base, ours, theirs)
    assert unknown.data is not None and unknown.data["ci"] == "web02"
    assert unknown.conflicts == [{"field": "ci", "value": "web01", "kept": "web02",
                                  "by": "alice", "at": "", "commit": ""}]


def test_removing_a_key_against_changing_it_is_a_conflict() -> None:
    base = make(assignee="gary")
    ours, theirs = edited(base, assignee=None), edited(base, assignee="hans")
    result = merge(base, ours, theirs, when_a=10)
    assert result.data is not None and "assignee" not in result.data
    assert [(e["field"], e["value"], e["kept"]) for e in result.conflicts] == \
        [("assignee", "hans", None)]


def test_custom_fields_merge_key_by_key() -> None:
    base = make()
    ours = styled(base)
    ours["fields"] = Flow(affected_users="several", outage_minutes=30)
    theirs = styled(base)
    theirs["fields"] = Flow(affected_users="everyone", vendor_case="4711")
    result = merge(base, ours, theirs, when_b=1)
    assert result.data is not None
    assert shape(result.data["fields"]) == shape(Flow(
        affected_users="everyone", outage_minutes=30, vendor_case="4711"))
    assert [(e["field"], e["value"]) for e in result.conflicts] == \
        [("fields.affected_users", "several")]


def test_unknown_keys_merge_as_values_and_come_last_by_name() -> None:
    base = make()
    ours = {**styled(base), "zeta": 1, "alpha": {"x": 1}}
    theirs = {**styled(base), "zeta": 2}
    result = merge(base, ours, theirs, when_a=1)
    assert result.data is not None
    assert list(result.data)[-2:] == ["alpha", "zeta"]
    assert result.data["zeta"] == 1 and result.data["alpha"] == {"x": 1}


def test_collision_and_the_same_ticket_added_twice() -> None:
    ours, theirs = make(), make(uid=OTHER_UID)
    assert merge(None, ours, theirs) == Merged(None, [], collision=True)
    result = merge(None, with_note(ours, 1, "a"), with_note(ours, 2, "b"))
    assert result.data is not None and len(result.data["notes"]) == 2


def test_a_side_without_the_file_keeps_the_other_version() -> None:
    base = make()
    ours = edited(base, summary="Web slow")
    assert merge(base, ours, None).data == ours
    assert merge(None, None, ours).data == ours
    assert merge(None, None, None) == Merged(None, [])


# --- lists -----------------------------------------------------------------------------------

def test_notes_are_the_union_in_time_order() -> None:
    base = with_note(make(), 0, "first")
    ours = with_note(with_note(base, 5, "ours"), 2, "both")
    theirs = with_note(with_note(base, 2, "both"), 3, "theirs")
    result = merge(base, ours, theirs)
    assert result.data is not None
    assert [n["text"] for n in result.data["notes"]] == ["first", "both", "theirs", "ours"]
    assert result.conflicts == []


def test_an_entry_a_side_holds_twice_stays_twice() -> None:
    base = make()
    ours = with_note(with_note(base, 1, "again"), 1, "again")
    theirs = with_note(with_note(base, 1, "again"), 0, "theirs")
    result = merge(base, ours, theirs)
    assert result.data is not None
    assert [n["text"] for n in result.data["notes"]] == ["theirs", "again", "again"]


def test_a_side_that_holds_everything_is_taken_as_it_is() -> None:
    base = with_note(make(), 9, "late")
    theirs = with_note(base, 1, "back-dated")
    ours = with_note(theirs, 4, "more")
    result = merge(base, ours, theirs)
    assert result.data is not None and result.data["notes"] == ours["notes"]


def test_approvals_and_events_are_unions_too() -> None:
    base = make("change")
    approval = Flow(by="carol", decision="approved", at=at(3), content_hash="a" * 64)
    event = Flow(at=at(1), by="gary", kind="functional-escalation", to="network", text="x")
    ours, theirs = styled(base), styled(base)
    ours["approvals"] = [approval]
    theirs["events"] = [event]
    theirs["approvals"] = [Flow(approval, by="dave")]
    result = merge(base, ours, theirs)
    assert result.data is not None
    assert [a["by"] for a in result.data["approvals"]] == ["carol", "dave"]
    assert result.data["events"] == [event]


def test_links_added_and_removed_on_either_side() -> None:
    base = styled(make())
    base["links"] = [Flow(rel="related", id=INC2), Flow(rel="caused-by", id=PRB)]
    ours, theirs = styled(base), styled(base)
    ours["links"] = [Flow(rel="caused-by", id=PRB), Flow(rel="related", id=CHG)]
    theirs["links"] = [*base["links"], Flow(rel="causes", id=CHG)]
    result = merge(base, ours, theirs)
    assert result.data is not None
    assert result.data["links"] == [{"rel": "caused-by", "id": PRB},
                                    {"rel": "causes", "id": CHG},
                                    {"rel": "related", "id": CHG}]
    one_side = merge(base, ours, base)
    assert one_side.data is not None and one_side.data["links"] == ours["links"]


def test_settled_conflicts_stay_settled_and_new_ones_are_added() -> None:
    old = [Flow(field="ci", value="a", kept="b", by="x", at=at(1), commit=""),
           Flow(field="group", value="a", kept="b", by="x", at=at(2), commit="")]
    base = {**styled(make()), "conflicts": old}
    ours = {**styled(base), "conflicts": [old[1]], "summary": "ours"}
    theirs = {**styled(base), "summary": "theirs",
              "conflicts": [*old, Flow(field="x", value=1, kept=2, by="y", at="", commit="")]}
    result = merge(base, ours, theirs, when_a=WHEN, when_b=WHEN + 60)
    assert result.data is not None
    assert [(e["field"], e["at"]) for e in result.data["conflicts"]] == \
        [("x", ""), ("summary", CREATED), ("group", at(2))]
    both_settled = merge(base, {**styled(base), "conflicts": [old[0]]},
                         {**styled(base), "conflicts": [old[1]]})
    assert both_settled.data is not None and "conflicts" not in both_settled.data


# --- status ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("ours", "theirs", "kept", "conflict"), [
    ("assigned", "resolved", "resolved", False),     # resolved follows assigned
    ("cancelled", "resolved", "cancelled", False),   # only one way
    ("in-progress", "pending", None, True),          # each follows the other, same stage
])
def test_status_takes_the_state_that_follows(ours: str, theirs: str, kept: str | None,
                                             conflict: bool) -> None:
    base = make()
    result = merge(base, edited(base, status=ours), edited(base, status=theirs), when_a=1)
    assert result.data is not None
    assert result.data["status"] == (kept or ours)
    assert bool(result.conflicts) is conflict
    if conflict:
        assert result.conflicts[0]["field"] == "status"


def test_a_reopen_against_a_close_is_a_conflict() -> None:
    base = make(status="resolved", resolution_code="fixed", solution="done")
    result = merge(base, edited(base, status="in-progress"), edited(base, status="closed"),
                   when_a=1)
    assert result.data is not None and result.data["status"] == "in-progress"
    assert [(e["field"], e["value"]) for e in result.conflicts] == [("status", "closed")]


# --- an authorization stands ----------------------------------------------------------------

PLAN = "apt-get install nginx=1.26"


def authorized(base: dict[str, Any], by: str, minute: int) -> dict[str, Any]:
    """base approved by `by` on its content, then scheduled."""
    out = styled(base)
    out["approvals"] = [Flow(by=by, group="cab", decision="approved", at=at(minute),
                             content_hash=content_hash(out))]
    return edited(out, status="scheduled")


@pytest.mark.parametrize("later", ["approver", "editor"])
def test_an_edit_of_reviewed_content_loses_against_an_authorization(later: str) -> None:
    base = make("change", status="authorize", implementation_plan=PLAN,
                window=Flow(start="2030-01-10T22:00:00Z", end="2030-01-11T00:00:00Z"))
    approved = authorized(base, "bob", 1)
    replanned = edited(base, implementation_plan="apt-get install nginx=1.27", cis=["web02"])
    times = (WHEN + 60, WHEN) if later == "approver" else (WHEN, WHEN + 60)
    for one, other in ((0, 1), (1, 0)):
        sides = [Side(approved, times[0], "Bob", "b" * 40),
                 Side(replanned, times[1], "Dave", "d" * 40)]
        result = merge_ticket(CONFIG, base, sides[one], sides[other])
        assert result.data is not None
        assert result.data["status"] == "scheduled"
        assert (result.data["implementation_plan"], result.data["cis"]) == (PLAN, ["web01"])
        assert content_hash(result.data) == approved["approvals"][0]["content_hash"]
        assert sorted((e["field"], e["value"], e["kept"], e["by"]) for e in result.conflicts) \
            == [("cis", ["web02"], ["web01"], "Dave"),
                ("implementation_plan", "apt-get install nginx=1.27", PLAN, "Dave")]


def test_below_the_gate_an_edit_stands_and_both_at_it_the_winner_keeps_its_content() -> None:
    base = make("change", status="authorize", implementation_plan=PLAN,
                window=Flow(start="2030-01-10T22:00:00Z", end="2030-01-11T00:00:00Z"))
    approval = Flow(by="bob", group="cab", decision="approved", at=at(1),
                    content_hash=content_hash(base))
    still = edited({**styled(base), "approvals": [approval]})
    replanned = edited(base, implementation_plan="two")
    below = merge(base, still, replanned, when_a=WHEN + 60, when_b=WHEN)
    assert below.data is not None and below.data["implementation_plan"] == "two"
    assert below.data["status"] == "authorize" and below.conflicts == []
    first = authorized(edited(base, implementation_plan="one"), "bob", 1)
    second = authorized(edited(base, implementation_plan="two"), "carol", 2)
    both = merge(base, first, second, when_a=WHEN, when_b=WHEN + 60)
    assert both.data is not None and both.data["implementation_plan"] == "two"
    assert [(e["field"], e["value"]) for e in both.conflicts] == [("implementation_plan", "one")]


def test_a_pending_reason_does_not_outlive_pending() -> None:
    """One side put the incident on hold with a reason, the other resolved it: the
    merge is resolved, and, as leaving pending does, drops the reason."""
    base = make(status="in-progress")
    held = edited(base, status="pending", pending_reason="awaiting-vendor")
    done = edited(base, status="resolved", resolution_code="fixed", solution="done")
    for ours, theirs in ((held, done), (done, held)):
        result = merge(base, ours, theirs, when_a=WHEN, when_b=WHEN + 60)
        assert result.data is not None and result.data["status"] == "resolved"
        assert "pending_reason" not in result.data and result.conflicts == []
    both = merge(base, held, edited(base, status="pending", pending_reason="awaiting-caller"),
                 when_a=WHEN, when_b=WHEN + 60)
    assert both.data is not None and both.data["pending_reason"] == "awaiting-caller"
    assert [(e["field"], e["value"]) for e in both.conflicts] == \
        [("pending_reason", "awaiting-vendor")]


# --- text keys -------------------------------------------------------------------------------

def test_description_merges_line_by_line_where_clean() -> None:
    base = make()
    ours = edited(base, description="ONE\ntwo\nthree\nfour")
    theirs = edited(base, description="one\ntwo\nthree\nFOUR")
    result = merge(base, ours, theirs)
    assert result.data is not None and result.data["description"] == "ONE\ntwo\nthree\nFOUR"
    assert isinstance(result.data["description"], Text) and result.conflicts == []


def test_description_changes_that_meet_keep_the_winner_whole() -> None:
    base = make()
    ours = edited(base, description="one\nTWO\nthree\nfour")
    theirs = edited(base, description="one\n2\nthree\nfour")
    result = merge(base, ours, theirs, when_b=1)
    assert result.data is not None and result.data["description"] == "one\n2\nthree\nfour"
    assert result.conflicts[0]["value"] == "one\nTWO\nthree\nfour"


# --- derived keys ----------------------------------------------------------------------------

def test_priority_and_due_follow_the_merged_impact_and_urgency() -> None:
    base = make()                                    # medium x medium: medium, 24h
    ours, theirs = edited(base, impact="high"), edited(base, urgency="high")
    assert (ours["priority"], theirs["priority"]) == ("high", "high")
    result = merge(base, ours, theirs)
    assert result.data is not None and result.data["priority"] == "critical"
    due = due_time(CONFIG, "critical", datetime(2026, 11, 25, 16, 21, tzinfo=UTC))
    assert due is not None and result.data["due"] == "2026-11-25T17:21:00Z"
    assert result.conflicts == []


def test_an_explicit_priority_is_kept_and_a_sides_due_with_it() -> None:
    base = make()
    ours = edited(base, priority="low")
    theirs = edited(base, impact="high")
    result = merge(base, ours, theirs)
    assert result.data is not None
    assert (result.data["priority"], result.data["priority_override"]) == ("low", True)
    assert result.data["due"] == ours["due"] and result.conflicts == []


def test_an_explicit_due_is_kept_when_the_priority_is_a_sides() -> None:
    base = make()
    ours = edited(base, due="2026-12-24T00:00:00Z")
    theirs = edited(base, summary="other")
    result = merge(base, ours, theirs)
    assert result.data is not None and result.data["due"] == "2026-12-24T00:00:00Z"


def test_a_due_conflict_is_won_by_the_side_whose_priority_the_merge_has() -> None:
    base = make()
    ours = edited(base, urgency="high")              # high, 8h
    theirs = edited(base, due="2026-12-24T00:00:00Z")
    result = merge(base, ours, theirs, when_b=1)     # theirs is later, but its due is stale
    assert result.data is not None and result.data["due"] == ours["due"]
    assert [(e["field"], e["value"]) for e in result.conflicts] == \
        [("due", "2026-12-24T00:00:00Z")]


@pytest.mark.parametrize("kind", ["problem", "change"])
def test_types_without_due_get_none(kind: str) -> None:
    base = make(kind)
    result = merge(base, edited(base, impact="high"), edited(base, urgency="high"))
    assert result.data is not None and result.data["priority"] == "critical"
    assert "due" not in result.data


def test_known_error_follows_root_cause_and_workaround() -> None:
    base = make("problem")
    ours, theirs = edited(base, root_cause="bad disk"), edited(base, workaround="reboot")
    assert ours["known_error"] is False and theirs["known_error"] is False
    result = merge(base, ours, theirs)
    assert result.data is not None and result.data["known_error"] is True


def test_category_and_subcategory_stay_a_pair_the_type_allows() -> None:
    base = make()                                     # Network / DNS
    ours = edited(base, category="Hardware", subcategory="Server")
    theirs = edited(base, subcategory="VPN")
    keywise = merge(base, ours, theirs, when_a=1)
    assert keywise.data is not None
    assert (keywise.data["category"], keywise.data["subcategory"]) == ("Hardware", "Server")
    assert [(e["field"], e["value"]) for e in keywise.conflicts] == [("subcategory", "VPN")]
    paired = merge(base, ours, theirs, when_b=1)     # Hardware / VPN is no pair
    assert paired.data is not None
    assert (paired.data["category"], paired.data["subcategory"]) == ("Network", "VPN")
    assert [(e["field"], e["value"]) for e in paired.conflicts] == \
        [("category", "Hardware"), ("subcategory", "Server")]
    clean = merge(base, edited(base, category="Network", subcategory="VPN"),
                  edited(base, summary="x"))
    assert clean.data is not None and clean.data["subcategory"] == "VPN"


# --- styles and bytes ------------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 16, 21, tzinfo=UTC)


def context(minutes: int, by: str = "gary") -> Context:
    return Context(CONFIG, NOW + timedelta(minutes=minutes), by, lambda: POLICY, {})


def written(blob: bytes, rule: Callable[[Ticket], object]) -> bytes:
    """The file gitdesk writes when the rule edits the ticket read from blob."""
    ticket = Ticket(yamlio.load(blob, "t.yaml"), "t.yaml")
    rule(ticket)
    return yamlio.dump(ticket.data)


def opened_blob() -> bytes:
    request = actions.OpenRequest(
        "incident", "Web down", "line one\nline two\nline three",
        values={"impact": "high", "urgency": "low", "category": "Network",
                "subcategory": "DNS", "submitter": "Hans <hans@example.org>"},
        fields={"vendor_case": "4711"})
    edit = actions.opened(request, context(0), taken=lambda _p: False)
    return yamlio.dump(edit.tickets[0].data)


EDITS: dict[str, Callable[[Ticket], object]] = {
    "note": lambda t: actions.note(t, context(5), text="Restarted: httpd"),
    "urgency": lambda t: actions.set_fields(t, context(6), values={"urgency": "high"}),
    "field": lambda t: actions.set_fields(t, context(7), values={},
                                          fields={"outage_minutes": "30"}),
    "description": lambda t: actions.set_fields(
        t, context(8), values={"description": "line one\nline two\nline 3"}),
    "link": lambda t: t.append("links", Link("caused-by", PRB).entry()),
}


@pytest.mark.parametrize("first", list(EDITS))
@pytest.mark.parametrize("second", list(EDITS))
def test_the_merge_writes_the_file_gitdesk_writes(first: str, second: str) -> None:
    base = opened_blob()
    ours, theirs = written(base, EDITS[first]), written(base, EDITS[second])
    result = merge(parse_blob(base, "t.yaml"), parse_blob(ours, "t.yaml"),
                   parse_blob(theirs, "t.yaml"))
    assert result.data is not None and result.conflicts == []
    if first == second:
        assert yamlio.dump(result.data) == ours
    else:
        assert yamlio.dump(result.data) == written(ours, EDITS[second])
    alone = merge(parse_blob(base, "t.yaml"), parse_blob(ours, "t.yaml"),
                  parse_blob(base, "t.yaml"))
    assert alone.data == parse_blob(ours, "t.yaml")
    assert alone.data is not None and yamlio.dump(alone.data) == ours


def test_conflicts_read_back_as_written() -> None:
    base = make()
    ours = edited(base, submitter=Flow(name="?odd: name"), description="a\nb")
    theirs = edited(base, submitter=Flow(name="Hans", email="hans@example.org"),
                    description="c")
    result = merge(base, ours, theirs)
    assert result.data is not None and len(result.conflicts) == 2
    assert reread(result.data) == result.data
    assert schema.validate("ticket", result.data) == []


def test_the_module_does_not_load_the_yaml_codec() -> None:
    code = ("import json, sys, gitdesk.domain.merge; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                       text=True, check=True).stdout)
    assert not {"ruamel", "pygit2", "click", "sqlite3", "jinja2", "subprocess"} & set(loaded)


DATE_TIMES = jsonschema.FormatChecker(formats=())


@DATE_TIMES.checks("date-time")
def _date_time(value: object) -> bool:
    try:
        return not isinstance(value, str) or parse_time(value).tzinfo is not None
    except ValueError:
        return False


HASHED = """
import json, sys
from gitdesk.actions.init import template_file
from gitdesk.domain.merge import Side, merge_ticket
from gitdesk.verify.configs import parse_config
base = json.loads(sys.argv[1])
ours, theirs = dict(base), dict(base)
P, C = "PRB-3MZ81KQA", "CHG-4K2M7Q2K"
ours["links"] = [{"rel": "causes", "id": P}, {"rel": "fixes", "id": C}]
theirs["links"] = [{"rel": "related", "id": C}, {"rel": "causes", "id": C}]
ours["fields"], theirs["fields"] = {"b": 1, "a": 2, "c": 3}, {"c": 4, "z": 1, "y": 2}
ours["notes"] = [{"at": "2026-11-25T17:00:00Z", "by": "a", "text": "x"}]
theirs["notes"] = [{"at": "2026-11-25T17:00:00Z", "by": "b", "text": "x"}]
result = merge_ticket(parse_config(template_file("itil", "config.yaml")), base, Side(ours),
                      Side(theirs))
print(json.dumps([result.data, result.conflicts]))
"""


def test_the_merge_does_not_depend_on_string_hashing() -> None:
    base = json.dumps(make())
    outputs = {subprocess.run([sys.executable, "-c", HASHED, base], capture_output=True,
                              text=True, check=True, env={"PYTHONHASHSEED": seed}).stdout
               for seed in ("0", "1", "4242")}
    assert len(outputs) == 1
    data, conflicts = json.loads(outputs.pop())
    assert len(data["links"]) == 4 and list(data["fields"]) == ["a", "b", "c", "y", "z"]
    assert [c["field"] for c in conflicts] == ["fields.c"]


CONFLICT = {"field": "summary", "value": None, "kept": "x", "by": "", "at": "", "commit": ""}


@pytest.mark.parametrize(("entry", "valid"), [
    (CONFLICT, True),
    ({**CONFLICT, "value": {"name": "x"}, "at": CREATED}, True),
    ({**CONFLICT, "at": "yesterday"}, False),
    ({**CONFLICT, "extra": 1}, False),
    ({k: v for k, v in CONFLICT.items() if k != "kept"}, False),
    ({**CONFLICT, "field": ""}, False),
])
def test_the_schema_takes_conflict_entries(entry: dict[str, Any], valid: bool) -> None:
    doc = {**make(), "conflicts": [entry]}
    reference = jsonschema.Draft202012Validator(schema.load_schema("ticket"),
                                                format_checker=DATE_TIMES)
    assert (schema.validate("ticket", doc) == []) is valid
    assert reference.is_valid(json.loads(json.dumps(doc))) is valid


# --- properties ------------------------------------------------------------------------------

KINDS = ("incident", "problem", "change")
FIELD_VALUES = {
    "incident": {"affected_users": ["one", "several", "everyone"], "outage_minutes": [5, 30],
                 "vendor_case": ["4711", "x"]},
    "change": {"downtime_expected": [True, False], "cab_date": ["2026-12-01"]},
    "problem": {},
}
SETS: dict[str, list[Any]] = {
    "summary": ["Web slow", "Web broken"], "assignee": ["gary", "hans", None],
    "group": ["network", "servers", None], "ci": ["web01", "web02", None],
    "severity": ["sev1", "sev2", None], "impact": ["high", "low"], "urgency": ["high", "low"],
    "priority": ["low", "critical", None], "major": [True, None],
    "due": ["2026-12-24T00:00:00Z"], "root_cause": ["disk", "a\nb", None],
    "workaround": ["reboot", None], "solution": ["done", "a\nb\nc"],
    "pending_reason": ["awaiting-vendor", "awaiting-caller", None],
    "category": [("Network", "DNS"), ("Network", "VPN"), ("Hardware", "Server"),
                 ("Software", None), (None, None)],
}
OPS = st.one_of(
    st.tuples(st.just("note"), st.integers(0, 5), st.sampled_from(["ann", "bo"]),
              st.sampled_from(["a", "b"])),
    st.tuples(st.just("approval"), st.integers(0, 5), st.sampled_from(["carol", "dave"])),
    st.tuples(st.just("approve"), st.integers(0, 5), st.sampled_from(["carol", "dave"])),
    st.tuples(st.just("event"), st.integers(0, 5)),
    st.tuples(st.just("set"), st.sampled_from(sorted(SETS)), st.integers(0, 2)),
    st.tuples(st.just("line"), st.integers(0, 4), st.sampled_from(["x", "y", None, "+"])),
    st.tuples(st.just("field"), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("link"), st.sampled_from(["related", "causes", "fixes"]),
              st.sampled_from([PRB, CHG, INC2])),
    st.tuples(st.just("unlink"), st.integers(0, 3)),
    st.tuples(st.just("move"), st.integers(0, 5)),
    st.tuples(st.just("settle"), st.integers(0, 3)),
    st.tuples(st.just("record"), st.integers(0, 5)),
)


def apply(data: dict[str, Any], op: tuple[Any, ...]) -> None:
    """One gitdesk-like action on the ticket data."""
    ticket = Ticket(data, "")
    kind = op[0]
    if kind == "note":
        ticket.append("notes", Note(at(op[1]), op[2], op[3]).entry())
    elif kind == "approval":
        ticket.append("approvals", Flow(by=op[2], decision="approved", at=at(op[1]),
                                        content_hash="a" * 64))
    elif kind == "approve":  # on the content as it is: an authorization the merge keeps
        ticket.append("approvals", Flow(by=op[2], decision="approved", at=at(op[1]),
                                        content_hash=content_hash(ticket.plain())))
    elif kind == "event":
        ticket.append("events", Flow(at=at(op[1]), by="gary", kind="functional-escalation",
                                     to="network", text="x"))
    elif kind == "set":
        value = SETS[op[1]][op[2] % len(SETS[op[1]])]
        set_values(ticket, dict(zip(("category", "subcategory"), value, strict=True))
                   if op[1] == "category" else {op[1]: value})
    elif kind == "line":
        lines = str(ticket.get("description") or "").split("\n")
        i = op[1] % len(lines)
        if op[2] is None:
            del lines[i]
        elif op[2] == "+":
            lines.insert(i, "new")
        else:
            lines[i] = op[2]
        set_values(ticket, {"description": "\n".join(lines)})
    elif kind == "field":
        custom = FIELD_VALUES[ticket.type]
        if custom:
            name = sorted(custom)[op[1] % len(custom)]
            fields = Flow(ticket.get("fields") or {})
            if op[2] == 2:
                fields.pop(name, None)
            else:
                fields[name] = custom[name][op[2] % len(custom[name])]
            ticket.set("fields", fields)
    elif kind == "link" and Link(op[1], op[2]) not in ticket.links():
        ticket.append("links", Link(op[1], op[2]).entry())
    elif kind == "unlink" and ticket.items_of("links"):
        links = ticket.items_of("links")
        del links[op[1] % len(links)]
        ticket.set("links", links)
    elif kind == "move":
        allowed = CONFIG.workflow_for(ticket.type, data).allowed(ticket.status)
        if allowed:
            ticket.set("status", allowed[op[1] % len(allowed)])
    elif kind == "settle" and ticket.items_of("conflicts"):
        entries = ticket.items_of("conflicts")
        del entries[op[1] % len(entries)]
        ticket.set("conflicts", entries)
    elif kind == "record":
        ticket.append("conflicts", Flow(field="ci", value="old", kept="new", by="x",
                                        at=at(op[1]), commit=""))


def set_values(ticket: Ticket, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if value is None:
            ticket.unset(key)
        else:
            ticket.set(key, value)
    actions.derive(CONFIG, ticket, explicit=values)


@st.composite
def versions(draw: st.DrawFn) -> tuple[dict[str, Any], Side, Side]:
    base = make(draw(st.sampled_from(KINDS)))
    for op in draw(st.lists(OPS, max_size=3)):
        apply(base, op)
    # both sides often set the same few keys, each to its own value, so that they meet
    keys = draw(st.lists(st.sampled_from(sorted(SETS)), min_size=1, max_size=3))
    offset = draw(st.integers(0, 4))
    sides = []
    for n, who in enumerate(("alice", "bob")):
        data = styled(base)
        focused = st.tuples(st.just("set"), st.sampled_from(keys), st.just(n + offset))
        ops = draw(st.lists(focused, min_size=1, max_size=2)) + draw(st.lists(OPS, max_size=4))
        for op in draw(st.permutations(ops)):
            apply(data, op)
        sides.append(Side(data, draw(st.sampled_from([0, 100, 200])), who,
                          draw(st.sampled_from(["", "a" * 40, "b" * 40]))))
    return base, sides[0], sides[1]


PROPS = settings(max_examples=300, deadline=None)


@PROPS
@given(versions())
def test_merge_is_symmetric(case: tuple[dict[str, Any], Side, Side]) -> None:
    base, ours, theirs = case
    for start in (base, None):  # None: both sides added the ticket
        one = merge_ticket(CONFIG, start, ours, theirs)
        other = merge_ticket(CONFIG, start, theirs, ours)
        assert shape(one.data) == shape(other.data)
        assert shape(one.conflicts) == shape(other.conflicts)


@PROPS
@given(versions())
def test_merge_is_idempotent(case: tuple[dict[str, Any], Side, Side]) -> None:
    base, ours, _theirs = case
    assert ours.data is not None
    expected = yamlio.dump(ours.data)
    for a, b in ((ours, ours), (Side(base, 7, "x", "c"), ours), (ours, Side(base, 7, "x", "c"))):
        result = merge_ticket(CONFIG, base, a, b)
        assert result.data == ours.data and result.conflicts == []
        assert result.data is not None and yamlio.dump(result.data) == expected


@PROPS
@given(versions())
def test_merge_loses_nothing(case: tuple[dict[str, Any], Side, Side]) -> None:
    base, ours, theirs = case
    result = merge_ticket(CONFIG, base, ours, theirs).data
    assert result is not None and ours.data is not None and theirs.data is not None
    for key in APPEND_ONLY:
        have = Counter(json.dumps(e, sort_keys=True) for e in result.get(key) or [])
        for side in (ours.data, theirs.data):
            assert have >= Counter(json.dumps(e, sort_keys=True) for e in side.get(key) or [])
    links = {(x["rel"], x["id"]) for x in result.get("links") or []}
    before = {(x["rel"], x["id"]) for x in base.get("links") or []}
    mine, yours = ({(x["rel"], x["id"]) for x in s.get("links") or []}
                   for s in (ours.data, theirs.data))
    assert links == ((before & mine & yours) | (mine - before) | (yours - before))


@PROPS
@given(versions())
def test_every_overwritten_value_is_recorded(case: tuple[dict[str, Any], Side, Side]) -> None:
    base, ours, theirs = case
    merged = merge_ticket(CONFIG, base, ours, theirs)
    result = merged.data
    assert result is not None
    recorded = {(e["field"], canon(e["value"])) for e in merged.conflicts}
    for entry in merged.conflicts:
        assert entry in result["conflicts"]
        assert canon(lookup(result, entry["field"])) == canon(entry["kept"])
    workflow = CONFIG.workflow_for(result["type"], result)
    for side in (ours.data, theirs.data):
        assert side is not None
        for field in set(keys_of(side)) | set(keys_of(base)) | set(keys_of(result)):
            if field in DERIVED or field in ("links", "conflicts", *APPEND_ONLY):
                continue
            value, was, now = lookup(side, field), lookup(base, field), lookup(result, field)
            if canon(value) in (canon(was), canon(now)):
                continue
            if field == "status" and reachable(workflow, value, now):
                continue
            if field == "pending_reason" and takes_reason(workflow, side["status"]) \
                    and not takes_reason(workflow, result["status"]):
                continue  # a pending side's reason: entering another state drops it
            if field in TEXT_KEYS and ours.data and theirs.data:
                clean = merge3(*(str(lookup(v, field) or "")
                                 for v in (base, ours.data, theirs.data)))
                if clean == now:
                    continue
            assert (field, canon(value)) in recorded, (field, value, now)


def takes_reason(workflow: Any, status: str) -> bool:
    return status == "pending" or "pending_reason" in workflow.states[status].requires


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def keys_of(data: dict[str, Any]) -> list[str]:
    fields = data.get("fields") or {}
    return [k for k in data if k != "fields"] + [f"fields.{k}" for k in fields]


def lookup(data: dict[str, Any], field: str) -> Any:
    if field.startswith("fields."):
        return (data.get("fields") or {}).get(field[7:])
    return data.get(field)


@PROPS
@given(versions())
def test_the_merge_of_valid_tickets_is_valid(case: tuple[dict[str, Any], Side, Side]) -> None:
    base, ours, theirs = case
    path = ticket_path(base["type"], base["id"])
    assert ours.data is not None and theirs.data is not None
    assert check_file(CONFIG, path, ours.data) == []
    assert check_file(CONFIG, path, theirs.data) == []
    result = merge_ticket(CONFIG, base, ours, theirs).data
    assert check_file(CONFIG, path, result) == []
    assert result is not None and reread(result) == result
