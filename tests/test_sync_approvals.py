"""Approvals across clones: an authorization one clone gave while another edited the plan.

bob approves dave's change for the CAB and schedules it in his clone; dave, in his
own clone and before he has seen that, rewrites the implementation plan. Whichever
way the two histories meet (`gitdesk sync`, or `git pull` with the driver), the
change stays authorized on the content bob approved, dave's plan is kept in the
ticket's `conflicts`, and the server's hook accepts the merge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.git import fsck, run
from support.people import Desk, Person, clone_as, git_as, ready_change, served_desk

pytestmark = pytest.mark.slow  # four clones, signed approvals, pushes through the hooks

APPROVED_PLAN = "apt-get install nginx=1.26"
DAVES_PLAN = "apt-get install nginx=1.27 (the newer point release)"
TWO_FOR_WEB = {"name": "web changes need two CAB members",
               "when": {"type": "change", "ci": "web*"},
               "require": [{"group": "cab", "count": 2}]}


def tickets(desk: Desk) -> dict[str, str]:
    return {line.split("\t")[1]: line.split()[2]
            for line in desk.git("ls-tree", "-r", "HEAD", "tickets").splitlines()}


@pytest.fixture
def crossed(tmp_path: Path, people: dict[str, Person]) -> tuple[Desk, Desk, str, str]:
    """The server after bob's authorization, and dave's clone with his new plan."""
    bob, dave = people["bob"], people["dave"]
    url = f"file://{served_desk(tmp_path, people)[1]}"
    daves = clone_as(url, tmp_path / "dave", dave, driver=True)
    tid = ready_change(daves, dave, summary="Upgrade nginx on web01")
    git_as(dave, daves.path, "push", "-q", "origin", "main")

    bobs = clone_as(url, tmp_path / "bob", bob, driver=True)
    bobs.ok_as(bob, "approve", tid, "-m", "CAB: go")
    bobs.ok_as(bob, "transition", tid, "scheduled")
    git_as(bob, bobs.path, "push", "-q", "origin", "main")
    approved = bobs.ticket(tid)
    assert approved["status"] == "scheduled"
    assert approved["implementation_plan"] == APPROVED_PLAN

    daves.ok_as(dave, "set", tid, f"implementation_plan={DAVES_PLAN}")
    daves.ok_as(dave, "note", tid, "-m", "plan updated for 1.27")
    return bobs, daves, tid, url


def check_merged(desk: Desk, tid: str) -> dict[str, Any]:
    merged = desk.ticket(tid)
    assert merged["status"] == "scheduled"
    assert merged["implementation_plan"] == APPROVED_PLAN
    assert [c["field"] for c in merged["conflicts"]] == ["implementation_plan"]
    entry = merged["conflicts"][0]
    assert (entry["value"], entry["kept"], entry["by"]) == (DAVES_PLAN, APPROVED_PLAN, "Dave")
    assert [n["text"] for n in merged["notes"]][-1] == "plan updated for 1.27"
    assert [a["by"] for a in merged["approvals"]] == ["bob"]
    assert validity(desk, tid) == ["bob approved for cab: valid"]
    return merged


def validity(desk: Desk, tid: str) -> list[str]:
    """The approval lines of `show`, without their times and comments."""
    shown = desk.ok("show", tid).split("Approvals:\n", 1)[1].splitlines()
    return [line.split("  ", 2)[2].split(" — ")[0] for line in shown
            if line.startswith("  2") and " for " in line]


def test_sync_keeps_the_authorization_and_records_the_other_plan(
        crossed: tuple[Desk, Desk, str, str], people: dict[str, Person]) -> None:
    bobs, daves, tid, _url = crossed
    dave = people["dave"]
    synced = daves.as_(dave, "sync")
    assert synced.exit_code == 0, synced.stdout + synced.stderr
    check_merged(daves, tid)
    checked = daves("verify")
    assert checked.exit_code == 0, checked.stderr
    assert "conflict" in daves.ok("show", tid)
    git_as(people["bob"], bobs.path, "pull", "-q", "--ff-only")
    assert tickets(bobs) == tickets(daves)
    fsck(daves.path)


def test_git_pull_with_the_driver_makes_the_same_ticket_and_the_hook_takes_it(
        tmp_path: Path, crossed: tuple[Desk, Desk, str, str],
        people: dict[str, Person]) -> None:
    _bobs, daves, tid, url = crossed
    dave = people["dave"]
    run(["git", "clone", "-q", str(daves.path), str(tmp_path / "dave2")], env=dave.env())
    twin = Desk(tmp_path / "dave2")
    git_as(dave, twin.path, "remote", "set-url", "origin", url)
    twin.ok_as(dave, "doctor", "--fix")
    git_as(dave, twin.path, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    check_merged(twin, tid)
    pushed = git_as(dave, twin.path, "push", "origin", "main", check=False)
    assert "rejected" not in pushed, pushed
    synced = daves.as_(dave, "sync")  # the other way in: the same bytes
    assert synced.exit_code == 0, synced.stdout + synced.stderr
    ours, theirs = (d.git("rev-parse", f"HEAD:{d.file(tid).relative_to(d.path)}")
                    for d in (daves, twin))
    assert ours == theirs


def test_an_edit_in_the_approval_state_still_voids_an_approval_from_the_other_clone(
        tmp_path: Path, people: dict[str, Person]) -> None:
    """Where nobody moved on past the approval gate, the edit stands and the
    approval it voids is shown as voided: the approvers look again."""
    bob, dave = people["bob"], people["dave"]
    url = f"file://{served_desk(tmp_path, people, rules=[TWO_FOR_WEB])[1]}"
    daves = clone_as(url, tmp_path / "dave", dave, driver=True)
    tid = ready_change(daves, dave)
    git_as(dave, daves.path, "push", "-q", "origin", "main")
    bobs = clone_as(url, tmp_path / "bob", bob, driver=True)
    bobs.ok_as(bob, "approve", tid, "-m", "CAB: one of two")
    git_as(bob, bobs.path, "push", "-q", "origin", "main")
    daves.ok_as(dave, "set", tid, f"implementation_plan={DAVES_PLAN}")
    synced = daves.as_(dave, "sync")
    assert synced.exit_code == 0, synced.stdout + synced.stderr
    merged = daves.ticket(tid)
    assert (merged["status"], merged["implementation_plan"]) == ("authorize", DAVES_PLAN)
    assert not merged.get("conflicts")
    assert validity(daves, tid) == [
        "bob approved for cab: voided by a later edit of reviewed content"]


def test_a_merge_that_makes_the_approver_the_implementer_is_refused_and_can_be_undone(
        crossed: tuple[Desk, Desk, str, str], people: dict[str, Person]) -> None:
    """Separation of duties across clones: dave assigned the change to bob, whose
    approval authorized it in his own clone. The merge would hold an authorized
    change with no approval that counts, so sync refuses it and changes nothing; dave
    assigns it to someone else and the next sync lands."""
    _bobs, daves, tid, _url = crossed
    dave = people["dave"]
    daves.ok_as(dave, "set", tid, f"implementation_plan={APPROVED_PLAN}")
    daves.ok_as(dave, "assign", tid, "bob")
    before = daves.head()
    refused = daves.as_(dave, "sync")
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    assert "the approval of bob does not count: bob implements it" in refused.stderr, \
        refused.stderr
    assert daves.head() == before and daves.git("status", "--porcelain") == ""
    daves.ok_as(dave, "assign", tid, "carol")
    synced = daves.as_(dave, "sync")
    assert synced.exit_code == 0, synced.stdout + synced.stderr
    merged = daves.ticket(tid)
    assert (merged["status"], merged["assignee"]) == ("scheduled", "carol")
