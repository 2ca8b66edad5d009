"""Who may approve what, what an approval is worth, and the gate to `scheduled`.

The desk: alice (admin; cab, ecab), bob (cab), carol (dba), dave (service desk
only), each with an SSH key the policy lists. Rules: normal changes need 1 cab,
emergency 1 ecab, CIs db* need 1 dba, and (added here) high risk needs 2 cab.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.edits import edit_yaml, hand_approve
from support.git import fsck
from support.people import TWO_CAB, Desk, Person, commit, ready_change, staffed_desk


@pytest.fixture
def desk(tmp_path: Path, people: dict[str, Person]) -> Iterator[Desk]:
    built = staffed_desk(tmp_path / "desk", people, rules=[TWO_CAB])
    yield built
    fsck(built.path)
    built.ok("verify")  # whatever the test did, the history it left obeys the rules


def approval_lines(desk: Desk, tid: str) -> list[str]:
    text = desk.ok("show", tid)
    return text[text.index("Approvals:"):].splitlines()[1:]


def test_approval_by_someone_outside_the_required_group_is_refused(
        desk: Desk, people: dict[str, Person]) -> None:
    tid = ready_change(desk, people["dave"])
    head = desk.head()
    result = desk.as_(people["dave"], "approve", tid, "-m", "looks fine")
    assert result.exit_code == 1
    assert f"dave is not in a group whose approval {tid} needs (cab)" in result.stderr
    # carol is a DBA, but a web change does not ask the DBAs
    result = desk.as_(people["carol"], "approve", tid)
    assert result.exit_code == 1
    assert f"carol is not in a group whose approval {tid} needs (cab)" in result.stderr
    assert desk.head() == head
    assert not desk.ticket(tid).get("approvals")


def test_authorize_names_who_must_approve(desk: Desk, people: dict[str, Person]) -> None:
    bob = people["bob"]
    tid = desk.ok_as(bob, "open", "change", "-s", "Upgrade nginx", "--window",
                     "2030-01-10T22:00Z/2h", "--risk", "medium", "--ci", "web01").strip()
    desk.ok_as(bob, "set", tid, "implementation_plan=a", "backout_plan=b", "test_plan=c")
    desk.ok_as(bob, "transition", tid, "assess")
    result = desk.as_(bob, "transition", tid, "authorize")
    assert result.exit_code == 0, result.stderr
    assert f"{tid} needs 1 approval(s) from group cab (has 0); ask: alice, bob" in result.stderr


@pytest.mark.slow
def test_show_lists_approvals_with_their_validity_and_what_is_missing(
        desk: Desk, people: dict[str, Person]) -> None:
    bob = people["bob"]
    tid = ready_change(desk, people["dave"])
    lines = approval_lines(desk, tid)
    assert lines == ["  none yet",
                     "  missing: needs 1 approval(s) from group cab (has 0); ask: alice, bob"]

    desk.ok_as(bob, "approve", tid, "-m", "go")
    lines = approval_lines(desk, tid)
    assert len(lines) == 2
    assert lines[0].endswith("bob approved for cab: valid — go")
    assert lines[1] == "  all approval levels are satisfied"

    # a note is not reviewed content: the approval stays valid
    desk.ok_as(people["dave"], "note", tid, "-m", "vendor confirmed the window")
    assert approval_lines(desk, tid)[0].endswith("bob approved for cab: valid — go")

    # editing the back-out plan voids it
    desk.ok_as(people["dave"], "set", tid, "backout_plan=restore the VM snapshot")
    lines = approval_lines(desk, tid)
    assert lines[0].endswith("bob approved for cab: voided by a later edit of reviewed "
                             "content — go")
    assert lines[1] == "  missing: needs 1 approval(s) from group cab (has 0); ask: alice, bob"

    head = desk.head()
    result = desk.as_(bob, "transition", tid, "scheduled")
    assert result.exit_code == 1
    assert f"{tid}: cannot move to scheduled: needs 1 approval(s) from group cab (has 0); " \
           "ask: alice, bob" in result.stderr
    assert desk.head() == head

    # approving the edited content again counts; the old entry is superseded
    desk.ok_as(bob, "approve", tid, "-m", "snapshot is fine")
    lines = approval_lines(desk, tid)
    assert lines[0].endswith("bob approved for cab: superseded by a later decision — go")
    assert lines[1].endswith("bob approved for cab: valid — snapshot is fine")
    assert lines[2] == "  all approval levels are satisfied"
    desk.ok_as(bob, "transition", tid, "scheduled")
    assert desk.ticket(tid)["status"] == "scheduled"


def test_rejection_by_a_required_approver_sends_the_change_back_to_new(
        desk: Desk, people: dict[str, Person]) -> None:
    bob, alice = people["bob"], people["alice"]
    tid = ready_change(desk, alice)
    desk.ok_as(bob, "reject", tid, "-m", "the back-out plan was never tested")
    ticket = desk.ticket(tid)
    assert ticket["status"] == "new"
    assert ticket["notes"][-1]["by"] == "bob"
    assert ticket["notes"][-1]["text"] == "Rejected: the back-out plan was never tested"
    assert [(a["by"], a["decision"]) for a in ticket["approvals"]] == [("bob", "rejected")]
    message = desk.git("log", "-1", "--format=%B")
    assert "Gitdesk-From: authorize" in message and "Gitdesk-To: new" in message
    assert approval_lines(desk, tid)[0].endswith(
        "bob rejected for cab: rejection — the back-out plan was never tested")
    # the rejection does not count as an approval once the change comes back
    desk.ok_as(alice, "transition", tid, "assess")
    desk.ok_as(alice, "transition", tid, "authorize")
    result = desk.as_(alice, "transition", tid, "scheduled")
    assert result.exit_code == 1 and "group cab (has 0)" in result.stderr
    refused = desk.as_(alice, "approve", tid)  # she opened it: separation of duties
    assert refused.exit_code == 1 and "alice requested it" in refused.stderr
    desk.ok_as(bob, "approve", tid)
    desk.ok_as(alice, "transition", tid, "scheduled")


def test_reject_needs_a_reason(desk: Desk, people: dict[str, Person]) -> None:
    tid = ready_change(desk, people["alice"])
    head = desk.head()
    result = desk.as_(people["bob"], "reject", tid)
    assert result.exit_code == 1
    assert "--message" in result.stderr
    assert desk.head() == head


def test_a_database_change_on_a_web_server_needs_cab_and_dba(
        desk: Desk, people: dict[str, Person]) -> None:
    bob, carol = people["bob"], people["carol"]
    tid = ready_change(desk, people["dave"], summary="Move web01 sessions to db01", cis="db01")
    lines = approval_lines(desk, tid)
    assert "  missing: needs 1 approval(s) from group cab (has 0); ask: alice, bob" in lines
    assert "  missing: needs 1 approval(s) from group dba (has 0); ask: carol" in lines

    desk.ok_as(bob, "approve", tid)
    result = desk.as_(bob, "transition", tid, "scheduled")
    assert result.exit_code == 1
    assert "needs 1 approval(s) from group dba (has 0); ask: carol" in result.stderr
    assert "group cab" not in result.stderr

    desk.ok_as(carol, "approve", tid, "-m", "indexes checked")
    entries = desk.ticket(tid)["approvals"]
    assert [(e["by"], e["group"], e["level"]) for e in entries] == [("bob", "cab", 0),
                                                                     ("carol", "dba", 1)]
    desk.ok_as(bob, "transition", tid, "scheduled")
    assert desk.ticket(tid)["status"] == "scheduled"


def test_a_rule_asking_two_approvals_needs_two_different_people(
        desk: Desk, people: dict[str, Person]) -> None:
    alice, bob = people["alice"], people["bob"]
    tid = ready_change(desk, people["dave"], summary="Replace the load balancer", risk="high")
    desk.ok_as(bob, "approve", tid, "-m", "one")
    desk.ok_as(bob, "approve", tid, "-m", "one again")  # the same person twice is still one
    result = desk.as_(bob, "transition", tid, "scheduled")
    assert result.exit_code == 1
    assert "needs 2 approval(s) from group cab (has 1: bob); ask: alice" in result.stderr
    desk.ok_as(alice, "approve", tid, "-m", "two")
    desk.ok_as(bob, "transition", tid, "scheduled")
    assert desk.ticket(tid)["status"] == "scheduled"


def test_an_emergency_change_needs_the_ecab(desk: Desk, people: dict[str, Person]) -> None:
    alice, bob = people["alice"], people["bob"]
    tid = ready_change(desk, people["dave"], summary="Patch the OpenSSL hole now",
                       change_type="emergency")
    result = desk.as_(bob, "approve", tid)
    assert result.exit_code == 1
    assert "not in a group whose approval" in result.stderr and "(ecab)" in result.stderr
    assert desk.as_(bob, "transition", tid, "scheduled").exit_code == 1
    desk.ok_as(alice, "approve", tid, "-m", "ECAB: go")
    assert desk.ticket(tid)["approvals"][0]["group"] == "ecab"
    desk.ok_as(bob, "transition", tid, "scheduled")


def test_a_change_not_awaiting_approval_cannot_be_approved(
        desk: Desk, people: dict[str, Person]) -> None:
    alice = people["alice"]
    tid = desk.ok_as(alice, "open", "change", "-s", "Upgrade nginx", "--ci", "web01").strip()
    head = desk.head()
    result = desk.as_(alice, "approve", tid)
    assert result.exit_code == 1
    assert f"{tid} is new: not awaiting approval" in result.stderr
    assert desk.head() == head


def test_an_approval_whose_commit_is_not_signed_does_not_count(
        desk: Desk, people: dict[str, Person]) -> None:
    """An entry added by hand with a plain `git commit` (no hooks in this clone) is shown
    as untrusted; it must not satisfy the CAB level, here or at the gate."""
    bob = people["bob"]
    tid = ready_change(desk, people["dave"])
    edit_yaml(desk.file(tid), hand_approve("bob", "cab"))
    base = desk.head()
    commit(desk.path, bob, f"{tid}: approve", sign=False)
    try:
        lines = approval_lines(desk, tid)
        assert lines[0].endswith("bob approved for cab: signature not trusted")
        head = desk.head()
        result = desk.as_(bob, "transition", tid, "scheduled")
        assert result.exit_code == 1, "scheduled on an unsigned approval"
        assert desk.head() == head
        assert lines[1] == \
            "  missing: needs 1 approval(s) from group cab (has 0); ask: alice, bob"
    finally:
        desk.git("reset", "-q", "--hard", base)  # leave a history that verifies


def test_reviewed_content_cannot_change_behind_an_authorized_change(
        desk: Desk, people: dict[str, Person]) -> None:
    """DESIGN 4.5: a change enters authorized *and anything after it* only with valid
    approvals. Editing the back-out plan of a scheduled change voids its approval, so
    either the edit is refused or the change cannot go on to implement."""
    bob, dave = people["bob"], people["dave"]
    tid = ready_change(desk, dave)
    desk.ok_as(bob, "approve", tid)
    desk.ok_as(bob, "transition", tid, "scheduled")
    edited = desk.as_(dave, "set", tid, "backout_plan=none, we will fix forward")
    moved = desk.as_(dave, "transition", tid, "implement")
    ticket = desk.ticket(tid)
    assert edited.exit_code == 1 or moved.exit_code == 1, \
        f"{tid} went on to {ticket['status']} with a voided approval"
