"""The field diff of two ticket versions (domain.diff), without git: plain dicts in,
changes out; and the two views of it, the event index's rows and `history`."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitdesk.actions.history import Change, changes
from gitdesk.domain.diff import diff, value
from gitdesk.index.events import field_changes, merge_changes

BASE: dict[str, Any] = {
    "id": "INC-7Q2K9XDM", "type": "incident", "summary": "Web down", "status": "new",
    "impact": "high", "urgency": "high", "priority": "critical", "ci": "web01",
    "created": "2026-11-25T16:21:00Z",
    "links": [{"rel": "caused-by", "id": "PRB-3MZ81KQA"}],
    "fields": {"outage_minutes": 30, "vendor_case": "4711"},
    "notes": [{"at": "2026-11-25T16:40:00Z", "by": "gary", "text": "Restarted httpd",
               "internal": False}],
}


def version(**changed: Any) -> dict[str, Any]:
    """BASE with some keys changed (None: removed)."""
    out = copy.deepcopy(BASE)
    for key, new in changed.items():
        if new is None:
            out.pop(key, None)
        else:
            out[key] = new
    return out


def test_identical_versions_have_no_changes() -> None:
    assert diff(BASE, BASE) == []
    assert diff(BASE, copy.deepcopy(BASE)) == []  # equal, not the same objects
    assert diff(BASE, copy.deepcopy(BASE), custom=False) == []
    assert diff({}, {}) == []


def test_changed_added_and_removed_keys() -> None:
    new = version(status="assigned", assignee="gary", ci=None)
    assert diff(BASE, new) == [("status", "new", "assigned"), ("assignee", None, "gary"),
                               ("ci", "web01", None)]  # new's order, then the removed keys


def test_a_missing_key_and_a_none_value_are_the_same() -> None:
    assert diff(BASE, version(assignee=None)) == []
    with_none = {**BASE, "assignee": None}
    assert diff(BASE, with_none) == []
    assert diff(with_none, BASE) == []
    assert diff(with_none, {**with_none, "assignee": "gary"}) == [("assignee", None, "gary")]


def test_custom_fields_one_change_each() -> None:
    new = version(fields={"vendor_case": "4712", "affected_users": 3})
    assert diff(BASE, new) == [("fields.vendor_case", "4711", "4712"),
                               ("fields.affected_users", None, 3),
                               ("fields.outage_minutes", 30, None)]
    assert diff(BASE, version(fields=None)) == [("fields.outage_minutes", 30, None),
                                                ("fields.vendor_case", "4711", None)]


def test_custom_fields_as_one_value() -> None:
    new = version(fields={"outage_minutes": 45, "vendor_case": "4711"})
    assert diff(BASE, new, custom=False) == [("fields", BASE["fields"], new["fields"])]
    assert diff(BASE, version(fields=None), custom=False) == [("fields", BASE["fields"], None)]


def test_appended_entries_are_the_changes_of_a_list() -> None:
    note = {"at": "2026-11-25T17:00:00Z", "by": "gary", "text": "Patched", "internal": True}
    approval = {"by": "carol", "group": "cab", "decision": "approved"}
    event = {"kind": "hierarchic-escalation", "level": 1, "to": "boss", "text": "Outage"}
    new = version(notes=[*BASE["notes"], note], approvals=[approval], events=[event])
    assert diff(BASE, new) == [("notes", None, note), ("approvals", None, approval),
                               ("events", None, event)]


def test_links_added_then_removed_each_sorted() -> None:
    new = version(links=[{"rel": "related", "id": "INC-B"}, {"rel": "parent", "id": "INC-A"},
                         {"rel": "related", "id": "INC-A"}])
    assert diff(BASE, new) == [("links", None, "parent INC-A"), ("links", None, "related INC-A"),
                               ("links", None, "related INC-B"),
                               ("links", "caused-by PRB-3MZ81KQA", None)]
    reordered = version(links=[*BASE["links"], *new["links"]][::-1])
    assert [c for c in diff(new, reordered) if c[0] == "links"] == \
        [("links", None, "caused-by PRB-3MZ81KQA")]


def test_a_new_ticket_is_everything_it_has() -> None:
    expected = [(key, None, BASE[key]) for key in
                ("id", "type", "summary", "status", "impact", "urgency", "priority", "ci",
                 "created")]
    expected += [("fields.outage_minutes", None, 30), ("fields.vendor_case", None, "4711"),
                 ("notes", None, BASE["notes"][0]), ("links", None, "caused-by PRB-3MZ81KQA")]
    assert diff(None, BASE) == expected
    assert diff({}, BASE) == expected


def test_value_of_a_field() -> None:
    assert value(BASE, "status") == "new"
    assert value(BASE, "fields.outage_minutes") == 30
    assert value(BASE, "fields.nothing") is None
    assert value(version(fields=None), "fields.outage_minutes") is None


# --- the two views: event rows and history ---------------------------------------------------

def test_event_rows_of_a_version() -> None:
    note = {"at": "2026-11-25T17:00:00Z", "by": "gary", "text": "Patched"}
    approval = {"by": "carol", "group": "cab", "decision": "approved"}
    event = {"kind": "functional-escalation", "to": "network", "by": "gary", "text": "x"}
    new = version(status="resolved", notes=[*BASE["notes"], note], approvals=[approval],
                  events=[event], links=None, fields={"outage_minutes": 45})
    assert field_changes(BASE, new) == [
        ("status", "new", "resolved"), ("fields.outage_minutes", 30, 45),
        ("fields.vendor_case", "4711", None), ("note", None, "Patched"),
        ("approval", None, "carol approved"), ("event", None, "gary functional-escalation"),
        ("link", "caused-by PRB-3MZ81KQA", None)]


def test_event_rows_of_a_new_ticket() -> None:
    first = {key: BASE[key] for key in ("id", "type", "summary", "status", "priority")}
    assert field_changes(None, {**BASE, "major": True}) == [
        ("opened", None, "new"),
        ("initial", None, {**first, "impact": "high", "urgency": "high", "ci": "web01",
                           "created": "2026-11-25T16:21:00Z", "major": "true",
                           "fields.outage_minutes": 30, "fields.vendor_case": "4711"})]
    per_field = field_changes(None, BASE, one_row=False)
    assert per_field[0] == ("opened", None, "new")
    assert [c[0] for c in per_field[1:]] == [
        "id", "type", "summary", "status", "impact", "urgency", "priority", "ci", "created",
        "fields.outage_minutes", "fields.vendor_case"]


def test_a_merge_keeps_only_what_no_other_parent_had() -> None:
    theirs = version(status="resolved", notes=[*BASE["notes"], {"text": "on their side"}])
    merged = version(status="resolved", summary="Both",
                     notes=[*theirs["notes"], {"text": "in the merge"}])
    rows = field_changes(BASE, merged, one_row=False)
    assert merge_changes(rows, merged, [theirs]) == [("summary", "Web down", "Both"),
                                                      ("note", None, "in the merge")]


def test_history_of_a_new_ticket_shows_its_headline() -> None:
    assert changes({}, {**BASE, "assignee": "gary"}) == [
        Change("summary", None, "Web down"), Change("status", None, "new"),
        Change("priority", None, "critical"), Change("assignee", None, "gary"),
        Change("ci", None, "web01"), Change("note", None, "Restarted httpd"),
        Change("link", None, "caused-by PRB-3MZ81KQA")]


def test_history_of_a_version() -> None:
    approval = {"by": "carol", "group": "cab", "decision": "approved", "comment": "ok"}
    event = {"kind": "hierarchic-escalation", "level": 2, "to": "boss", "text": "Outage"}
    new = version(status="assigned", fields={"outage_minutes": 45}, approvals=[approval],
                  events=[event], created=None)
    assert changes(BASE, new) == [
        Change("status", "new", "assigned"),
        Change("fields", BASE["fields"], {"outage_minutes": 45}),
        Change("created", "2026-11-25T16:21:00Z", None),
        Change("approval", None, "approved by carol for cab: ok"),
        Change("escalation", None, "hierarchic level 2 to boss: Outage")]
    assert changes(BASE, {}) == [Change(key, BASE[key], None) for key in BASE
                                 if key not in ("links", "notes")] + \
        [Change("link", "caused-by PRB-3MZ81KQA", None)]  # the file was deleted


# --- properties ------------------------------------------------------------------------------

KEYS = st.sampled_from(["status", "summary", "ci", "priority", "assignee", "major"])
VALUES = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["a", "b", ""])
SCALARS = st.dictionaries(KEYS, VALUES, max_size=6)


@given(old=SCALARS, new=SCALARS, old_fields=SCALARS, new_fields=SCALARS)
def test_the_changes_turn_the_old_version_into_the_new(
        old: dict[str, Any], new: dict[str, Any], old_fields: dict[str, Any],
        new_fields: dict[str, Any]) -> None:
    before, after = {**old, "fields": old_fields}, {**new, "fields": new_fields}
    rebuilt = {k: v for k, v in before.items() if k != "fields"}
    rebuilt_fields = dict(old_fields)
    for field, was, now in diff(before, after):
        assert was != now
        target, key = (rebuilt_fields, field[7:]) if field.startswith("fields.") \
            else (rebuilt, field)
        assert target.get(key) == was
        target[key] = now

    def present(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if v is not None}

    assert present(rebuilt) == present(new)
    assert present(rebuilt_fields) == present(new_fields)
    assert diff(after, copy.deepcopy(after)) == []
