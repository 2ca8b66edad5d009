"""The verifier over a range, and the server hooks end to end with the real git binary.

A bare repository gets `gitdesk hooks install --server`; commits made by hand
with plain git (or gitdesk) are pushed to it over file:// and over `git daemon`
on 127.0.0.1 (started here, with an environment of its own). Every push that
breaks a rule is refused with the rule named; the valid flow goes through.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gitdesk.verify import shims as hookscripts
from support.cli import Gitdesk
from support.edits import edit_yaml, hand_approve
from support.git import fsck, run
from support.people import TWO_CAB, Desk, Person, commit, ready_change, staffed_desk
from support.server import GITDESK, Daemon, bare_with_hooks, git_daemon

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """`git daemon` serving (and accepting pushes to) the bare repositories of this module."""
    with git_daemon(tmp_path_factory.mktemp("daemon")) as served:
        yield served


@dataclass(frozen=True)
class Server:
    bare: Path
    port: int

    @property
    def file_url(self) -> str:
        return f"file://{self.bare}"

    @property
    def git_url(self) -> str:
        return f"git://127.0.0.1:{self.port}/{self.bare.name}"

    def tip(self, branch: str = "main") -> str:
        proc = run(["git", "-C", str(self.bare), "rev-parse", "--verify", "-q",
                    f"refs/heads/{branch}"], check=False)
        return proc.stdout.strip()


def push(work: Path, url: str, who: Person, *args: str,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(["git", "push", *args, url, "HEAD:refs/heads/main"], cwd=work,
               env={**who.env(), "GITDESK": GITDESK, **(env or {})}, check=False)


@pytest.fixture
def server(daemon: Daemon, tmp_path: Path) -> Server:
    return Server(bare_with_hooks(daemon.root / f"{tmp_path.name}.git"), daemon.port)


@pytest.fixture
def desk(tmp_path: Path, people: dict[str, Person], server: Server) -> Iterator[Desk]:
    """alice's desk (bob cab, carol dba, dave service desk; high risk needs 2 cab),
    already pushed to the server."""
    built = staffed_desk(tmp_path / "desk", people, rules=[TWO_CAB])
    accepted = push(built.path, server.file_url, people["alice"])
    assert accepted.returncode == 0, accepted.stderr
    assert server.tip() == built.head()
    yield built
    fsck(server.bare)


def assert_refused(desk: Desk, server: Server, who: Person, rule: str, message: str) -> None:
    """Pushed over file:// and over git://, refused naming the rule; the server unchanged."""
    before = server.tip()
    for url in (server.file_url, server.git_url):
        result = push(desk.path, url, who)
        assert result.returncode != 0, f"{url} accepted:\n{result.stderr}"
        assert "pre-receive hook declined" in result.stderr, result.stderr
        refused = [line for line in result.stderr.splitlines()
                   if "gitdesk: rejected:" in line]
        assert any(f"[{rule}]" in line and message in line for line in refused), \
            f"{url}: no [{rule}] {message!r} in\n{result.stderr}"
        assert server.tip() == before


def hand_edit(desk: Desk, tid: str, change: Callable[[Any], None]) -> None:
    edit_yaml(desk.file(tid), change)


def set_status(status: str) -> Callable[[Any], None]:
    def change(ticket: Any) -> None:
        ticket["status"] = status

    return change


# ---------------------------------------------------------------------------
# gitdesk verify over a range


def test_verify_reports_each_violation_in_text_json_and_github_formats(
        tmp_path: Path, people: dict[str, Person]) -> None:
    desk = staffed_desk(tmp_path / "desk", people)
    bob = people["bob"]
    tid = ready_change(desk, bob)
    good = desk.head()
    hand_edit(desk, tid, hand_approve("bob", "cab"))
    unsigned = commit(desk.path, bob, "approve by hand", sign=False)
    inc = desk.open("incident", "-s", "Printer jammed")
    hand_edit(desk, inc, set_status("closed"))
    closed = commit(desk.path, bob, "close by hand", sign=False)

    assert desk("verify", good).exit_code == 0
    assert desk("verify", f"{good}~3..{good}").exit_code == 0

    text = desk("verify", f"{good}..HEAD")
    assert text.exit_code == 4
    lines = text.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{unsigned[:10]} tickets/change/")
    assert f"{tid}: approval by bob is not trusted: the commit is not signed [signature]" \
        in lines[0]
    assert "— fix: approve with `gitdesk approve`" in lines[0]
    assert lines[1].startswith(f"{closed[:10]} tickets/incident/")
    assert f"{inc}: cannot move from new to closed [workflow]" in lines[1]
    assert "2 violation(s) in 3 commit(s)" in text.stderr

    records = json.loads(desk("verify", f"{good}..HEAD", "--format", "json").stdout)
    assert [(r["commit"], r["rule"]) for r in records] == [(unsigned, "signature"),
                                                           (closed, "workflow")]
    assert records[0]["path"] == f"tickets/change/{tid[4:6]}/{tid}.yaml"
    assert "not signed" in records[0]["message"] and records[0]["hint"]

    github = desk("verify", f"{good}..HEAD", "--format", "github")
    assert github.exit_code == 4
    lines = github.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"::error file=tickets/change/{tid[4:6]}/{tid}.yaml,"
                               f"title=gitdesk signature::{unsigned[:10]}: ")
    assert lines[1].startswith(f"::error file=tickets/incident/{inc[4:6]}/{inc}.yaml,"
                               f"title=gitdesk workflow::{closed[:10]}: ")

    whole = desk("verify")
    assert whole.exit_code == 4 and len(whole.stdout.splitlines()) == 2


# ---------------------------------------------------------------------------
# pushes the server refuses


@pytest.mark.slow
def test_push_of_an_unsigned_approval_is_refused(desk: Desk, server: Server,
                                                 people: dict[str, Person]) -> None:
    bob = people["bob"]
    tid = ready_change(desk, bob)
    hand_edit(desk, tid, hand_approve("bob", "cab"))
    commit(desk.path, bob, f"{tid}: approve (by hand)", sign=False)
    assert_refused(desk, server, bob, "signature",
                   f"{tid}: approval by bob is not trusted: the commit is not signed")


@pytest.mark.slow
def test_push_of_an_approval_signed_by_bob_naming_alice_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    bob = people["bob"]
    tid = ready_change(desk, bob)
    hand_edit(desk, tid, hand_approve("alice", "cab"))
    commit(desk.path, bob, f"{tid}: approve for alice", sign=True)
    assert "BEGIN SSH SIGNATURE" in desk.git("cat-file", "-p", "HEAD")
    assert_refused(desk, server, bob, "signature",
                   f"{tid}: approval names alice but the commit is signed by bob")


@pytest.mark.slow
def test_push_of_an_approval_from_outside_the_required_group_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    dave = people["dave"]
    tid = ready_change(desk, dave)
    hand_edit(desk, tid, hand_approve("dave", "cab"))
    commit(desk.path, dave, f"{tid}: approve", sign=True)
    assert_refused(desk, server, dave, "approver",
                   f"{tid}: dave is not in a group whose approval it needs (cab)")


@pytest.mark.slow
def test_push_of_a_change_scheduled_with_one_of_two_approvals_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    bob = people["bob"]
    tid = ready_change(desk, people["dave"], summary="Replace the load balancer", risk="high")
    desk.ok_as(bob, "approve", tid, "-m", "fine")
    refused = desk.as_(bob, "transition", tid, "scheduled")
    assert refused.exit_code == 1
    hand_edit(desk, tid, set_status("scheduled"))
    commit(desk.path, bob, f"{tid}: scheduled", sign=False)
    assert_refused(desk, server, bob, "approval",
                   f"{tid}: cannot move to scheduled: needs 2 approval(s) from group cab "
                   "(has 1: bob); ask: alice")


@pytest.mark.slow
def test_push_of_a_change_scheduled_after_its_approval_was_voided_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    bob, dave = people["bob"], people["dave"]
    tid = ready_change(desk, dave)
    desk.ok_as(bob, "approve", tid, "-m", "go")
    desk.ok_as(dave, "set", tid, "backout_plan=reinstall from scratch")
    hand_edit(desk, tid, set_status("scheduled"))
    commit(desk.path, dave, f"{tid}: scheduled", sign=True)
    assert_refused(desk, server, dave, "approval",
                   f"{tid}: cannot move to scheduled: needs 1 approval(s) from group cab "
                   "(has 0)")


def make_admin(person: str) -> Callable[[Any], None]:
    def change(policy: Any) -> None:
        policy["admins"].append(person)
        policy["groups"]["ecab"]["members"].append(person)

    return change


@pytest.mark.slow
def test_push_of_a_policy_change_signed_by_a_non_admin_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    bob = people["bob"]
    edit_yaml(desk.path / ".gitdesk/policy.yaml", make_admin("bob"))
    commit(desk.path, bob, "policy: make me an admin", sign=True)
    assert_refused(desk, server, bob, "admin",
                   "changes to .gitdesk/ must be signed by a policy admin (signed by bob)")


@pytest.mark.slow
def test_push_of_an_unsigned_policy_change_is_refused(desk: Desk, server: Server,
                                                      people: dict[str, Person]) -> None:
    bob = people["bob"]
    edit_yaml(desk.path / ".gitdesk/policy.yaml", make_admin("bob"))
    commit(desk.path, bob, "policy: make me an admin", sign=False)
    assert_refused(desk, server, bob, "admin",
                   "changes to .gitdesk/ must be signed by a policy admin "
                   "(the commit is not signed)")


@pytest.mark.slow
def test_push_of_a_deleted_ticket_is_refused(desk: Desk, server: Server,
                                             people: dict[str, Person]) -> None:
    dave = people["dave"]
    inc = desk.ok_as(dave, "open", "incident", "-s", "Printer jammed").strip()
    pushed = push(desk.path, server.file_url, dave)
    assert pushed.returncode == 0, pushed.stderr
    desk.git("rm", "-q", str(desk.file(inc).relative_to(desk.path)))
    commit(desk.path, dave, f"remove {inc}", sign=False)
    assert_refused(desk, server, dave, "no-delete", "tickets are never deleted")


@pytest.mark.slow
def test_push_of_a_forbidden_transition_made_by_hand_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    dave = people["dave"]
    inc = desk.ok_as(dave, "open", "incident", "-s", "Printer jammed").strip()
    hand_edit(desk, inc, set_status("closed"))
    commit(desk.path, dave, f"{inc}: close", sign=False)
    assert_refused(desk, server, dave, "workflow", f"{inc}: cannot move from new to closed")


@pytest.mark.slow
def test_push_that_rewrites_the_desks_history_is_refused(desk: Desk, server: Server,
                                                         people: dict[str, Person]) -> None:
    dave = people["dave"]
    desk.ok_as(dave, "open", "incident", "-s", "Printer jammed")
    assert push(desk.path, server.file_url, dave).returncode == 0
    desk.git("reset", "-q", "--hard", "HEAD~1")
    before = server.tip()
    result = push(desk.path, server.file_url, dave, "--force")
    assert result.returncode != 0
    assert "the desk's history cannot be rewritten" in result.stderr
    assert server.tip() == before


def test_push_deleting_the_desks_branch_is_refused(desk: Desk, server: Server,
                                                   people: dict[str, Person]) -> None:
    before = server.tip()
    result = run(["git", "push", server.git_url, ":main"], cwd=desk.path,
                 env=people["dave"].env(), check=False)
    assert result.returncode != 0
    assert "the desk's branch cannot be deleted [no-delete]" in result.stderr
    assert server.tip() == before


@pytest.mark.slow
def test_the_update_hook_alone_refuses_too(desk: Desk, server: Server,
                                           people: dict[str, Person]) -> None:
    """For a host that runs only `update`: the same verdict, per ref."""
    (server.bare / "hooks" / "pre-receive").unlink()
    dave = people["dave"]
    inc = desk.ok_as(dave, "open", "incident", "-s", "Printer jammed").strip()
    hand_edit(desk, inc, set_status("closed"))
    commit(desk.path, dave, f"{inc}: close", sign=False)
    before = server.tip()
    for url in (server.file_url, server.git_url):
        result = push(desk.path, url, dave)
        assert result.returncode != 0
        assert "hook declined" in result.stderr
        assert f"{inc}: cannot move from new to closed [workflow]" in result.stderr
        assert server.tip() == before


# ---------------------------------------------------------------------------
# the valid flow goes through


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["file", "daemon"])
def test_push_of_the_valid_flow_is_accepted(desk: Desk, server: Server,
                                            people: dict[str, Person], transport: str) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    tid = ready_change(desk, people["dave"], summary="Move web01 sessions to db01",
                       cis="db01")
    desk.ok_as(bob, "approve", tid, "-m", "CAB: go")
    desk.ok_as(carol, "approve", tid, "-m", "DBA: go")
    desk.ok_as(bob, "transition", tid, "scheduled")
    inc = desk.ok_as(people["dave"], "open", "incident", "-s", "Printer jammed").strip()
    hand_edit(desk, inc, set_status("in-progress"))  # an allowed move made with plain git
    commit(desk.path, people["dave"], f"{inc}: working on it", sign=False)

    def dave_joins_the_cab(policy: Any) -> None:
        policy["groups"]["cab"]["members"].append("dave")

    edit_yaml(desk.path / ".gitdesk/policy.yaml", dave_joins_the_cab)
    commit(desk.path, alice, "policy: dave joins the CAB", sign=True)

    url = server.file_url if transport == "file" else server.git_url
    result = push(desk.path, url, bob)
    assert result.returncode == 0, result.stderr
    assert "gitdesk: rejected" not in result.stderr
    assert server.tip() == desk.head()
    on_server = Desk(server.bare)
    on_server.ok("--repo", str(server.bare), "verify")
    shown = json.loads(on_server.ok("--repo", str(server.bare), "show", tid, "--format",
                                    "json"))
    assert shown["status"] == "scheduled"
    assert [a["by"] for a in shown["approvals"]] == ["bob", "carol"]


# ---------------------------------------------------------------------------
# installing the hooks


def test_the_shipped_hook_scripts_are_the_shims_install_writes() -> None:
    for name in (*hookscripts.SERVER_HOOKS, *hookscripts.CLIENT_HOOKS):
        assert (REPO_ROOT / "hooks" / name).read_text() == hookscripts.shim(name)


def test_install_bakes_in_the_absolute_path_of_gitdesk(
        daemon: Daemon, tmp_path: Path, people: dict[str, Person],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{Path(GITDESK).parent}{os.pathsep}{os.environ['PATH']}")
    bare = bare_with_hooks(daemon.root / f"{tmp_path.name}.git")
    for name in hookscripts.SERVER_HOOKS:
        script = (bare / "hooks" / name).read_text()
        assert f'GITDESK="${{GITDESK:-{GITDESK}}}"' in script
        assert os.access(bare / "hooks" / name, os.X_OK)
    # a pusher without gitdesk on PATH and without GITDESK is still checked
    desk = staffed_desk(tmp_path / "desk", people)
    inc = desk.open("incident", "-s", "Printer jammed")
    hand_edit(desk, inc, set_status("closed"))
    commit(desk.path, people["dave"], "close", sign=False)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if p != str(Path(GITDESK).parent))
    result = run(["git", "push", f"file://{bare}", "HEAD:refs/heads/main"], cwd=desk.path,
                 env={"PATH": path}, check=False)
    assert result.returncode != 0
    assert "cannot move from new to closed [workflow]" in result.stderr


def test_install_with_repo_after_the_command_as_its_help_shows(tmp_path: Path) -> None:
    """`gitdesk hooks install --help` gives: gitdesk hooks install --server --repo PATH."""
    bare = tmp_path / "it-desk.git"
    run(["git", "init", "-q", "--bare", str(bare)])
    help_text = Gitdesk(tmp_path).ok("hooks", "install", "--help")
    assert "gitdesk hooks install --server --repo" in help_text
    result = Gitdesk(tmp_path)("hooks", "install", "--server", "--repo", str(bare))
    assert result.exit_code == 0, result.stderr
    assert hookscripts.MARKER in (bare / "hooks" / "pre-receive").read_text()


LEGACY_PRE_RECEIVE = """#!/bin/sh
# the site's own pre-receive hook
cat >> "$(dirname "$0")/../legacy-pre-receive.log"
echo "legacy pre-receive ran" >&2
exit "$(cat "$(dirname "$0")/../legacy-exit" 2>/dev/null || echo 0)"
"""
LEGACY_UPDATE = """#!/bin/sh
echo "$1" >> "$(dirname "$0")/../legacy-update.log"
"""


@pytest.mark.slow
def test_install_keeps_an_existing_hook_as_legacy_and_runs_it_first(
        daemon: Daemon, tmp_path: Path, people: dict[str, Person]) -> None:
    bare = daemon.root / f"{tmp_path.name}.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(bare)])
    hooks = bare / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-receive").write_text(LEGACY_PRE_RECEIVE)
    (hooks / "update").write_text(LEGACY_UPDATE)
    for name in ("pre-receive", "update"):
        (hooks / name).chmod(0o755)
    installed = Gitdesk(tmp_path)("--repo", str(bare), "hooks", "install", "--server").ok()
    assert "kept the old one as pre-receive.legacy" in installed.stderr
    assert "kept the old one as update.legacy" in installed.stderr
    assert (hooks / "pre-receive.legacy").read_text() == LEGACY_PRE_RECEIVE
    assert (hooks / "update.legacy").read_text() == LEGACY_UPDATE
    assert hookscripts.MARKER in (hooks / "pre-receive").read_text()
    # installing again replaces gitdesk's own shim and keeps the legacy hook
    again = Gitdesk(tmp_path)("--repo", str(bare), "hooks", "install", "--server").ok()
    assert "legacy" not in again.stderr
    assert (hooks / "pre-receive.legacy").read_text() == LEGACY_PRE_RECEIVE

    server = Server(bare, daemon.port)
    desk = staffed_desk(tmp_path / "desk", people)
    dave = people["dave"]
    accepted = push(desk.path, server.git_url, dave)
    assert accepted.returncode == 0, accepted.stderr
    assert "legacy pre-receive ran" in accepted.stderr
    assert f"{desk.head()} refs/heads/main" in (bare / "legacy-pre-receive.log").read_text()
    assert (bare / "legacy-update.log").read_text() == "refs/heads/main\n"

    # the legacy hook passes, gitdesk refuses
    inc = desk.open("incident", "-s", "Printer jammed")
    hand_edit(desk, inc, set_status("closed"))
    commit(desk.path, dave, "close", sign=False)
    refused = push(desk.path, server.file_url, dave)
    assert refused.returncode != 0
    assert "legacy pre-receive ran" in refused.stderr
    assert "cannot move from new to closed [workflow]" in refused.stderr

    # the legacy hook refuses: gitdesk's verdict is not asked
    desk.git("reset", "-q", "--hard", "HEAD~1")
    desk.open("incident", "-s", "Mouse broken")
    (bare / "legacy-exit").write_text("1\n")
    refused = push(desk.path, server.file_url, dave)
    assert refused.returncode != 0
    assert "legacy pre-receive ran" in refused.stderr
    assert "gitdesk:" not in refused.stderr
    (bare / "legacy-exit").write_text("0\n")
    assert push(desk.path, server.file_url, dave).returncode == 0
    assert server.tip() == desk.head()


def test_install_refuses_when_core_hookspath_points_elsewhere(tmp_path: Path) -> None:
    bare = tmp_path / "desk.git"
    elsewhere = tmp_path / "company-hooks"
    elsewhere.mkdir()
    run(["git", "init", "-q", "--bare", str(bare)])
    run(["git", "-C", str(bare), "config", "core.hooksPath", str(elsewhere)])
    result = Gitdesk(tmp_path)("--repo", str(bare), "hooks", "install", "--server")
    assert result.exit_code == 1
    assert f"core.hooksPath is set to {elsewhere}" in result.stderr
    assert "gitdesk hook NAME" in result.stderr
    assert not (bare / "hooks" / "pre-receive").exists()
    assert not (bare / "hooks" / "update").exists()
    assert list(elsewhere.iterdir()) == []


def test_pre_commit_hook_refuses_a_forbidden_hand_edit(tmp_path: Path,
                                                       people: dict[str, Person]) -> None:
    desk = staffed_desk(tmp_path / "desk", people)
    installed = desk("hooks", "install")
    assert installed.exit_code == 0, installed.stderr
    dave = people["dave"]
    inc = desk.open("incident", "-s", "Printer jammed")
    head = desk.head()
    hand_edit(desk, inc, set_status("closed"))
    run(["git", "add", "-A"], cwd=desk.path)
    refused = run(["git", "commit", "-q", "-m", "close"], cwd=desk.path,
                  env={**dave.env(), "GITDESK": GITDESK}, check=False)
    assert refused.returncode != 0
    assert f"{inc}: cannot move from new to closed [workflow]" in refused.stderr
    assert desk.head() == head
    hand_edit(desk, inc, set_status("in-progress"))
    run(["git", "add", "-A"], cwd=desk.path)
    run(["git", "commit", "-q", "-m", "take it"], cwd=desk.path,
        env={**dave.env(), "GITDESK": GITDESK})
    assert desk.head() != head



# ---------------------------------------------------------------------------
# merges: judged against every parent, and only from this desk's own history


def second_clone(desk: Desk, server: Server, who: Person, name: str = "other") -> Desk:
    """Another person's clone of the server's desk."""
    path = desk.path.parent / name
    run(["git", "clone", "-q", server.file_url, str(path)], env=who.env())
    return Desk(path)


def notes_on_both_sides(desk: Desk, server: Server, people: dict[str, Person]) -> str:
    """dave opens an incident and pushes; bob notes it in his clone and pushes; dave
    notes it too, unpushed. Returns the incident's ID."""
    dave, bob = people["dave"], people["bob"]
    tid = desk.ok_as(dave, "open", "incident", "-s", "Mail delayed").strip()
    assert push(desk.path, server.file_url, dave).returncode == 0
    other = second_clone(desk, server, bob)
    other.ok_as(bob, "note", tid, "-m", "bob looked at the queue")
    assert push(other.path, server.file_url, bob).returncode == 0
    desk.ok_as(dave, "note", tid, "-m", "dave restarted postfix")
    return tid


def merge_ours(desk: Desk, server: Server, who: Person) -> None:
    """`git merge -s ours` of the server's main: the other side's work is dropped."""
    run(["git", "fetch", "-q", server.file_url, "main"], cwd=desk.path, env=who.env())
    run(["git", "merge", "-q", "-s", "ours", "--no-edit", "FETCH_HEAD"], cwd=desk.path,
        env=who.env())


def commit_tree(repo: Path, who: Person, tree: str, parents: list[str], message: str) -> str:
    args = ["git", "commit-tree", tree, "-m", message]
    for parent in parents:
        args += ["-p", parent]
    return run(args, cwd=repo, env=who.env()).stdout.strip()


def test_merge_s_ours_that_drops_anothers_note_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    dave = people["dave"]
    tid = notes_on_both_sides(desk, server, people)
    merge_ours(desk, server, dave)
    assert desk("verify", "FETCH_HEAD..HEAD").exit_code == 4
    assert_refused(desk, server, dave, "append-only", f"{tid}: the merge drops notes")


def test_merge_that_takes_one_side_wholesale_dropping_a_new_ticket_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    dave, bob = people["dave"], people["bob"]
    other = second_clone(desk, server, bob)
    theirs = other.ok_as(bob, "open", "incident", "-s", "VPN down").strip()
    assert push(other.path, server.file_url, bob).returncode == 0
    desk.ok_as(dave, "open", "incident", "-s", "Printer jammed")
    merge_ours(desk, server, dave)
    assert not desk.file(theirs).exists()
    assert_refused(desk, server, dave, "no-delete", "the merge drops a ticket a parent has")


def test_merge_that_drops_a_signed_approval_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    alice, bob = people["alice"], people["bob"]
    tid = ready_change(desk, alice)
    assert push(desk.path, server.file_url, alice).returncode == 0
    other = second_clone(desk, server, bob)
    other.ok_as(bob, "approve", tid, "-m", "go")
    assert push(other.path, server.file_url, bob).returncode == 0
    desk.ok_as(alice, "note", tid, "-m", "window confirmed with the web team")
    merge_ours(desk, server, alice)
    assert_refused(desk, server, alice, "append-only", f"{tid}: the merge drops approvals")


def test_merge_keeping_both_notes_in_time_order_is_accepted(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    """Resolving a note conflict the natural way (both notes, oldest first) passes."""
    dave, bob = people["dave"], people["bob"]
    tid = desk.ok_as(dave, "open", "incident", "-s", "Mail delayed").strip()
    assert push(desk.path, server.file_url, dave).returncode == 0
    other = second_clone(desk, server, bob)
    other.ok_as(bob, "note", tid, "-m", "first: bob", env={
        "GIT_AUTHOR_DATE": "2030-01-01T10:00:00Z", "GIT_COMMITTER_DATE": "2030-01-01T10:00:00Z"})
    assert push(other.path, server.file_url, bob).returncode == 0
    desk.ok_as(dave, "note", tid, "-m", "second: dave", env={
        "GIT_AUTHOR_DATE": "2030-01-01T11:00:00Z", "GIT_COMMITTER_DATE": "2030-01-01T11:00:00Z"})
    run(["git", "fetch", "-q", server.file_url, "main"], cwd=desk.path, env=dave.env())
    merged = run(["git", "merge", "--no-edit", "FETCH_HEAD"], cwd=desk.path, env=dave.env(),
                 check=False)
    if merged.returncode != 0:  # git's text merge conflicts inside notes: resolve by hand
        theirs = run(["git", "show", f"FETCH_HEAD:{desk.file(tid).relative_to(desk.path)}"],
                     cwd=desk.path).stdout
        ours = run(["git", "show", f"HEAD:{desk.file(tid).relative_to(desk.path)}"],
                   cwd=desk.path).stdout
        extra = [line for line in ours.splitlines() if "second: dave" in line]
        desk.file(tid).write_text(theirs + "\n".join(extra) + "\n")
        commit(desk.path, dave, "merge: both notes", sign=False)
    notes = [n["text"] for n in desk.ticket(tid)["notes"]]
    assert notes == ["first: bob", "second: dave"]
    result = push(desk.path, server.file_url, dave)
    assert result.returncode == 0, result.stderr


def forged_root(desk: Desk, attacker: Person) -> str:
    """A parentless commit holding a complete desk whose policy makes the attacker an
    admin and maps the attacker's key to alice."""
    forged = desk.path.parent / "forged"
    run(["git", "clone", "-q", str(desk.path), str(forged)])
    policy = forged / ".gitdesk/policy.yaml"

    def takeover(data: Any) -> None:
        data["admins"] = [attacker.id]
        data["people"]["alice"]["keys"] = [attacker.public_key()]

    edit_yaml(policy, takeover)
    run(["git", "add", "-A"], cwd=forged)
    tree = run(["git", "write-tree"], cwd=forged).stdout.strip()
    root = commit_tree(forged, attacker, tree, [], "a fresh start")
    run(["git", "fetch", "-q", str(forged), root], cwd=desk.path)
    return root


def test_merge_of_a_forged_desk_root_is_refused_whichever_parent_comes_first(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    bob = people["bob"]
    root = forged_root(desk, bob)
    head = desk.head()
    tree = run(["git", "rev-parse", f"{root}^{{tree}}"], cwd=desk.path).stdout.strip()
    for parents in ([head, root], [root, head]):
        merge = commit_tree(desk.path, bob, tree, parents, "merge a fresh start")
        run(["git", "reset", "-q", "--hard", merge], cwd=desk.path)
        assert desk("verify", f"{head}..HEAD").exit_code == 4
        assert_refused(desk, server, bob, "history", "does not descend from the desk's first")
        run(["git", "reset", "-q", "--hard", head], cwd=desk.path)


def test_a_commit_without_the_desk_on_its_branch_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    bob = people["bob"]
    desk.ok_as(bob, "open", "incident", "-s", "Disk full")
    run(["git", "rm", "-q", "-r", ".gitdesk", "tickets"], cwd=desk.path)
    (desk.path / "README").write_text("nothing to see\n")
    commit(desk.path, bob, "start over", sign=False)
    (desk.path / "README").write_text("still nothing\n")
    commit(desk.path, bob, "carry on", sign=False)
    assert_refused(desk, server, bob, "config", ".gitdesk/config.yaml cannot be deleted")


def test_a_parentless_commit_on_a_new_branch_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    bob = people["bob"]
    root = forged_root(desk, bob)
    result = run(["git", "push", server.file_url, f"{root}:refs/heads/takeover"],
                 cwd=desk.path, env=bob.env(), check=False)
    assert result.returncode != 0 and "[history]" in result.stderr, result.stderr
    assert server.tip("takeover") == ""


def test_tags_are_refused_unless_the_server_allows_them(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    bob = people["bob"]
    run(["git", "tag", "v1", "HEAD"], cwd=desk.path)
    result = run(["git", "push", server.file_url, "refs/tags/v1"], cwd=desk.path,
                 env=bob.env(), check=False)
    assert result.returncode != 0 and "tags are refused" in result.stderr
    run(["git", "-C", str(server.bare), "config", "gitdesk.allowTags", "true"])
    result = run(["git", "push", server.file_url, "refs/tags/v1"], cwd=desk.path,
                 env=bob.env(), check=False)
    assert result.returncode == 0, result.stderr


def test_unprotected_refs_pass_but_their_commits_are_verified_when_merged(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    """With only main protected, a side ref may hold anything; merging it into main
    verifies what it brings."""
    bob = people["bob"]
    run(["git", "-C", str(server.bare), "config", "gitdesk.protect", "refs/heads/main"])
    tid = desk.ok_as(bob, "open", "incident", "-s", "Disk full").strip()
    hand_edit(desk, tid, set_status("closed"))
    bad = commit(desk.path, bob, "close by hand", sign=False)
    side = run(["git", "push", server.file_url, f"{bad}:refs/heads/scratch"], cwd=desk.path,
               env=bob.env(), check=False)
    assert side.returncode == 0, side.stderr
    assert_refused(desk, server, bob, "workflow", f"{tid}: cannot move from new to closed")


def test_a_merge_with_an_empty_parentless_commit_cannot_delete_the_desk(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    """The merge's tree equals its unrelated second parent's (empty): not one deletion
    may be waved through because "it equals a parent"."""
    bob = people["bob"]
    desk.ok_as(bob, "open", "incident", "-s", "Disk full")
    head = desk.head()
    empty = run(["git", "mktree"], cwd=desk.path, input="").stdout.strip()
    stranger = commit_tree(desk.path, bob, empty, [], "nothing")
    merge = commit_tree(desk.path, bob, empty, [head, stranger], "merge nothing")
    run(["git", "reset", "-q", "--hard", merge], cwd=desk.path)
    assert desk("verify", f"{head}..HEAD").exit_code == 4
    assert_refused(desk, server, bob, "history", "does not descend from the desk's first")


# ---------------------------------------------------------------------------
# fields that choose the workflow are derived, not believed


def test_a_hand_made_standard_change_on_a_database_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    """A 'standard' change whose plan is not its template's, on db01, walked to
    implement by hand: no DBA ever approved it."""
    dave = people["dave"]
    tid = desk.ok_as(dave, "open", "change", "--standard", "restart-web-service",
                     "--window", "2030-01-10T22:00:00Z", "--ci", "DB01 ").strip()

    def walk(ticket: Any) -> None:
        ticket["implementation_plan"] = "DROP DATABASE billing"
        ticket["status"] = "scheduled"

    hand_edit(desk, tid, walk)
    commit(desk.path, dave, f"{tid}: scheduled", sign=False)
    assert_refused(desk, server, dave, "workflow",
                   f"{tid}: implementation_plan is not what the standard change "
                   "restart-web-service gives")


def test_a_standard_change_from_its_template_on_a_database_needs_the_dba(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    """Within its template but on DB01 (any case, blanks around): the DBA rule (ci db*)
    still selects it, so scheduling it needs a DBA's approval."""
    dave = people["dave"]
    tid = desk.ok_as(dave, "open", "change", "--standard", "restart-web-service",
                     "--window", "2030-01-10T22:00:00Z", "--ci", " DB01").strip()
    refused = desk.as_(dave, "transition", tid, "scheduled")
    assert refused.exit_code == 1 and "group dba" in refused.stderr, refused.stderr
    hand_edit(desk, tid, set_status("scheduled"))
    commit(desk.path, dave, f"{tid}: scheduled", sign=False)
    assert_refused(desk, server, dave, "approval",
                   f"{tid}: cannot move to scheduled: needs 1 approval(s) from group dba")


def test_a_request_written_without_approval_required_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    dave = people["dave"]
    tid = desk.ok_as(dave, "open", "request", "-s", "Laptop for Ann", "--request-type",
                     "new-laptop", "--submitter", "Ann <ann@example.org>").strip()
    run(["git", "reset", "-q", "--soft", "HEAD~1"], cwd=desk.path)

    def no_approval(ticket: Any) -> None:
        del ticket["approval_required"]
        ticket["status"] = "new"  # the plain request workflow's first state

    hand_edit(desk, tid, no_approval)
    commit(desk.path, dave, f"{tid}: open", sign=False)
    assert_refused(desk, server, dave, "workflow",
                   f"{tid}: approval_required must be true: the catalog's new-laptop needs "
                   "approval")
    assert desk.as_(dave, "transition", tid, "assigned").exit_code != 0


def test_the_requester_may_not_approve_their_own_change(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    """Separation of duties (on in the ITIL policy): bob opened the change, so his
    signed approval of it is refused, through gitdesk and by hand."""
    bob = people["bob"]
    tid = ready_change(desk, bob)
    refused = desk.as_(bob, "approve", tid)
    assert refused.exit_code == 1 and "bob requested it" in refused.stderr
    hand_edit(desk, tid, hand_approve("bob", "cab"))
    commit(desk.path, bob, f"{tid}: approve", sign=True)
    assert_refused(desk, server, bob, "separation",
                   f"{tid}: bob requested it and may not approve it")


def test_a_poisoned_policy_cache_changes_no_verdict(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    """Whoever can write a CI runner's or the server's .git/gitdesk/cache/ chooses what
    it says; the hooks and `gitdesk verify` parse the policy from git objects."""
    bob = people["bob"]
    edit_yaml(desk.path / ".gitdesk/policy.yaml", make_admin("bob"))
    commit(desk.path, bob, "policy: make me an admin", sign=True)
    policy_blob = run(["git", "rev-parse", "HEAD~1:.gitdesk/policy.yaml"],
                      cwd=desk.path).stdout.strip()
    forged = {"version": 1, "people": {"bob": {"name": "Bob", "email": "bob@example.org",
                                               "keys": [bob.public_key()]}},
              "groups": {}, "admins": ["bob"], "rules": []}
    for git_dir in (desk.path / ".git", server.bare):
        cache = git_dir / "gitdesk" / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        for tag in ("", *{p.name.split("-")[-1].removesuffix(".json")
                          for p in cache.glob("policy-*.json")}):
            name = f"policy-{policy_blob}-{tag}.json" if tag else f"policy-{policy_blob}.json"
            (cache / name).write_text(json.dumps(forged))
    assert desk("verify", "HEAD~1..HEAD").exit_code == 4
    assert_refused(desk, server, bob, "admin",
                   "changes to .gitdesk/ must be signed by a policy admin (signed by bob)")


# ---------------------------------------------------------------------------
# hostile input: resource bounds


BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_an_alias_bomb_in_a_ticket_is_refused_at_once(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    bob = people["bob"]
    tid = desk.ok_as(bob, "open", "incident", "-s", "Disk full").strip()
    desk.file(tid).write_text(desk.file(tid).read_text() + BOMB)
    commit(desk.path, bob, "a bomb", sign=False)
    started = time.monotonic()
    assert_refused(desk, server, bob, "schema", "anchors and aliases")
    assert time.monotonic() - started < 60
    shown = desk("show", tid)
    assert shown.exit_code == 1 and "anchors and aliases" in shown.stderr


def test_a_huge_ticket_is_refused_and_show_says_so_at_once(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    bob = people["bob"]
    tid = desk.ok_as(bob, "open", "incident", "-s", "Disk full").strip()
    log = "x" * 300_000
    desk.file(tid).write_text(desk.file(tid).read_text().replace(
        "summary: Disk full", f"summary: Disk full\ndescription: {log}"))
    commit(desk.path, bob, "attach the whole log", sign=False)
    assert_refused(desk, server, bob, "size", "a ticket file takes up to 262,144")
    desk.file(tid).write_text("summary: " + "y" * (2 << 20) + "\n")
    commit(desk.path, bob, "more", sign=False)
    started = time.monotonic()
    shown = desk("show", tid)
    assert shown.exit_code == 1 and "desk files are read up to 1,048,576 bytes" in shown.stderr
    assert time.monotonic() - started < 30


def test_a_long_text_value_is_refused(desk: Desk, people: dict[str, Person]) -> None:
    bob = people["bob"]
    tid = desk.ok_as(bob, "open", "incident", "-s", "Disk full").strip()
    refused = desk.as_(bob, "note", tid, "-m", "z" * 70_000)
    assert refused.exit_code == 1
    assert "a text value takes up to 65,536 (limits.text_bytes)" in refused.stderr


def test_the_hooks_work_is_bounded_in_time() -> None:
    from gitdesk.errors import VerificationFailed
    from gitdesk.verify.hooks import time_limit

    started = time.monotonic()
    with pytest.raises(VerificationFailed, match="took longer than 1 s"), time_limit(1):
        time.sleep(10)
    assert time.monotonic() - started < 5


def test_hooks_install_server_sets_the_guarded_refs(tmp_path: Path) -> None:
    bare = tmp_path / "srv.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(bare)])
    result = Gitdesk(tmp_path)("--repo", str(bare), "hooks", "install", "--server",
                               "--protect", "refs/heads/main", "--protect", "refs/heads/rel*",
                               "--allow-tags")
    assert result.exit_code == 0, result.stderr
    values = run(["git", "-C", str(bare), "config", "--get-all", "gitdesk.protect"]).stdout
    assert values.split() == ["refs/heads/main", "refs/heads/rel*"]
    assert run(["git", "-C", str(bare), "config", "gitdesk.allowTags"]).stdout.strip() == "true"
    misuse = Gitdesk(tmp_path)("--repo", str(bare), "hooks", "install", "--protect", "x")
    assert misuse.exit_code == 2 and "add --server" in misuse.stderr


def test_a_report_template_from_a_non_admin_is_refused(
        desk: Desk, server: Server, people: dict[str, Person]) -> None:
    """.gitdesk/templates/ is the desk's own code path: only an admin's signed commit
    changes it (the rendering is sandboxed besides)."""
    bob = people["bob"]
    template = desk.path / ".gitdesk/templates/report.html"
    template.parent.mkdir(parents=True)
    template.write_text("{{ cycler.__init__.__globals__.os.popen('id').read() }}\n")
    commit(desk.path, bob, "a nicer report", sign=True)
    assert_refused(desk, server, bob, "admin",
                   "changes to .gitdesk/ must be signed by a policy admin (signed by bob)")


@pytest.mark.parametrize("side", ["--ours", "--theirs"])
def test_a_conflict_resolved_by_taking_one_sides_file_is_refused(
        desk: Desk, server: Server, people: dict[str, Person], side: str) -> None:
    """Without the merge driver git's text merge conflicts on two new notes; taking
    one side's file wholesale drops the other's note: refused."""
    dave = people["dave"]
    tid = notes_on_both_sides(desk, server, people)
    run(["git", "config", "--remove-section", "merge.gitdesk"], cwd=desk.path, check=False)
    run(["git", "fetch", "-q", server.file_url, "main"], cwd=desk.path, env=dave.env())
    merged = run(["git", "merge", "--no-edit", "FETCH_HEAD"], cwd=desk.path, env=dave.env(),
                 check=False)
    assert merged.returncode != 0 and "CONFLICT" in merged.stdout + merged.stderr
    path = str(desk.file(tid).relative_to(desk.path))
    run(["git", "checkout", side, "--", path], cwd=desk.path)
    run(["git", "add", path], cwd=desk.path)
    run(["git", "commit", "-q", "--no-edit"], cwd=desk.path, env=dave.env())
    assert_refused(desk, server, dave, "append-only", f"{tid}: the merge drops notes")
