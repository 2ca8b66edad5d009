"""A change reviewed as a pull request: RFC on a branch, approvals as signed commits.

bob opens the RFC on a branch of his clone and approves it for the CAB; carol
approves it for the DBAs from her own clone; the branch passes
`gitdesk verify origin/main..HEAD` (what CI runs), alice merges it with
`git merge --no-ff` and pushes: the server's hook accepts it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.edits import edit_yaml, hand_approve
from support.git import fsck, run
from support.people import Desk, Person, clone_as, commit, git_as, ready_change, served_desk

pytestmark = pytest.mark.slow  # clones, signed approvals, a merge, pushes through the hooks

BRANCH = "rfc/db01-sessions"


def test_rfc_reviewed_on_a_branch_is_merged_and_accepted(tmp_path: Path,
                                                         people: dict[str, Person]) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    main, bare = served_desk(tmp_path, people, server="it-desk.git")
    url = f"file://{bare}"

    # bob: the RFC and his CAB approval, on a branch
    mine = clone_as(url, tmp_path / "bob", bob)
    git_as(bob, mine.path, "switch", "-q", "-c", BRANCH)
    tid = ready_change(mine, people["dave"], summary="Move web01 sessions to db01",
                       cis="db01")
    mine.ok_as(bob, "approve", tid, "-m", "CAB: go")
    git_as(bob, mine.path, "push", "-q", "-u", "origin", BRANCH)

    # carol: the DBA approval from her clone
    hers = clone_as(url, tmp_path / "carol", carol)
    git_as(carol, hers.path, "switch", "-q", BRANCH)
    hers.ok_as(carol, "approve", tid, "-m", "DBA: indexes are there")
    git_as(carol, hers.path, "push", "-q", "origin", BRANCH)

    # bob: schedule it; the pull request's commits verify
    git_as(bob, mine.path, "pull", "-q", "--ff-only")
    mine.ok_as(bob, "transition", tid, "scheduled")
    git_as(bob, mine.path, "push", "-q", "origin", BRANCH)
    checked = mine("verify", "origin/main..HEAD")
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    added = int(mine.git("rev-list", "--count", "origin/main..HEAD"))
    assert added == 7  # open, set, assess, authorize, two approvals, scheduled
    assert f"verified {added} commit(s): all rules hold" in checked.stderr
    github = mine("verify", "origin/main..HEAD", "--format", "github")
    assert github.exit_code == 0 and github.stdout == ""
    approvals = mine.git("log", "--format=%H", "--grep=Gitdesk-Approval: approved",
                         "origin/main..HEAD").split()
    assert len(approvals) == 2
    for oid in approvals:
        assert "gpgsig -----BEGIN SSH SIGNATURE-----" in mine.git("cat-file", "-p", oid)

    # meanwhile main moved on
    main.ok_as(alice, "open", "incident", "-s", "Printer jammed")
    git_as(alice, main.path, "push", "-q", "origin", "main")

    # alice merges the pull request with plain git and pushes
    git_as(alice, main.path, "fetch", "-q", "origin")
    git_as(alice, main.path, "merge", "-q", "--no-ff", "-m", f"Merge {BRANCH}",
           f"origin/{BRANCH}")
    parents = main.git("rev-list", "--parents", "-n", "1", "HEAD").split()
    assert len(parents) == 3
    pushed = git_as(alice, main.path, "push", "origin", "main", check=False)
    assert "gitdesk: rejected" not in pushed
    assert run(["git", "-C", str(bare), "rev-parse", "main"]).stdout.strip() == main.head()

    server = Desk(bare)
    server.ok("--repo", str(bare), "verify")
    shown = json.loads(server.ok("--repo", str(bare), "show", tid, "--format", "json"))
    assert shown["status"] == "scheduled"
    assert [(a["by"], a["group"]) for a in shown["approvals"]] == [("bob", "cab"),
                                                                  ("carol", "dba")]
    fsck(bare)


def test_rfc_approved_by_hand_on_a_branch_fails_review_and_push(
        tmp_path: Path, people: dict[str, Person]) -> None:
    bob = people["bob"]
    main, bare = served_desk(tmp_path, people, server="it-desk.git")
    url = f"file://{bare}"

    mine = clone_as(url, tmp_path / "bob", bob)
    git_as(bob, mine.path, "switch", "-q", "-c", BRANCH)
    tid = ready_change(mine, bob)
    edit_yaml(mine.file(tid), hand_approve("bob", "cab"))
    commit(mine.path, bob, f"{tid}: approve", sign=False)

    checked = mine("verify", "origin/main..HEAD", "--format", "github")
    assert checked.exit_code == 4
    assert checked.stdout.startswith(f"::error file=tickets/change/{tid[4:6]}/{tid}.yaml,"
                                     "title=gitdesk signature::")
    refused = git_as(bob, mine.path, "push", "origin", BRANCH, check=False)
    assert "not signed [signature]" in refused

    git_as(bob, mine.path, "switch", "-q", "main")
    git_as(bob, mine.path, "merge", "-q", "--no-ff", "-m", "merge", BRANCH)
    refused = git_as(bob, mine.path, "push", "origin", "main", check=False)
    assert "not signed [signature]" in refused and "pre-receive hook declined" in refused
    assert run(["git", "-C", str(bare), "rev-parse", "main"]).stdout.strip() == \
        main.head()


def test_rfc_noted_on_main_while_its_branch_collects_approvals_merges_with_the_driver(
        tmp_path: Path, people: dict[str, Person]) -> None:
    """The RFC is on main; its review branch collects the CAB's and the DBA's signed
    approvals and the move to scheduled while main adds a note to the same RFC. git's
    merge (with gitdesk's driver) keeps both; the server's hook accepts it."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    main, bare = served_desk(tmp_path, people, server="it-desk.git")
    url = f"file://{bare}"
    main.ok("doctor", "--fix")
    tid = ready_change(main, people["dave"], summary="Move web01 sessions to db01",
                       cis="db01")
    git_as(alice, main.path, "push", "-q", "origin", "main")

    mine = clone_as(url, tmp_path / "bob", bob)
    git_as(bob, mine.path, "switch", "-q", "-c", BRANCH)
    mine.ok_as(bob, "approve", tid, "-m", "CAB: go")
    mine.ok_as(carol, "approve", tid, "-m", "DBA: go")
    mine.ok_as(bob, "transition", tid, "scheduled")
    git_as(bob, mine.path, "push", "-q", "-u", "origin", BRANCH)
    assert mine("verify", "origin/main..HEAD").exit_code == 0

    main.ok_as(alice, "note", tid, "-m", "window agreed with the web team")
    git_as(alice, main.path, "push", "-q", "origin", "main")
    git_as(alice, main.path, "fetch", "-q", "origin")
    merged = git_as(alice, main.path, "merge", "--no-ff", "-m", f"Merge {BRANCH}",
                    f"origin/{BRANCH}")
    assert "CONFLICT" not in merged
    shown = main.ticket(tid)
    assert shown["status"] == "scheduled"
    assert [n["text"] for n in shown["notes"]][-1] == "window agreed with the web team"
    assert [a["by"] for a in shown["approvals"]] == ["bob", "carol"]
    pushed = git_as(alice, main.path, "push", "origin", "main", check=False)
    assert "gitdesk: rejected" not in pushed, pushed
    assert run(["git", "-C", str(bare), "rev-parse", "main"]).stdout.strip() == main.head()
    fsck(bare)
