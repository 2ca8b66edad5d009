"""Approvals are commits signed with the approver's own key (SSH or OpenPGP).

Keys are made for each test (support.signing: ssh-keygen, gpg in a temporary
GNUPGHOME) and the commits are checked with the real git binary, not only with
gitdesk's own verifier.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gitdesk.domain.approvals import content_hash
from gitdesk.domain.model import plain, ticket_path
from gitdesk.yaml import roundtrip as yamlio
from support.edits import edit_yaml, hand_approve
from support.git import config_env, fsck, run
from support.people import Desk, Person, commit, init_desk, ready_change, staffed_desk
from support.server import GITDESK, bare_with_hooks
from support.signing import GnuPG, ssh_key

ENTRY_KEYS = {"by", "decision", "at", "comment", "level", "group", "content_hash"}


@pytest.fixture
def staffed(tmp_path: Path, people: dict[str, Person]) -> Iterator[Desk]:
    desk = staffed_desk(tmp_path / "desk", people)
    yield desk
    fsck(desk.path)


def assert_entry(entry: dict[str, Any], ticket: dict[str, Any], *, by: str, decision: str,
                 group: str, comment: str) -> None:
    assert set(entry) == ENTRY_KEYS
    assert (entry["by"], entry["decision"], entry["group"], entry["comment"]) == \
        (by, decision, group, comment)
    assert entry["level"] == 0
    assert entry["content_hash"] == content_hash(ticket)
    at = datetime.strptime(entry["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(at - datetime.now(UTC)) < timedelta(minutes=5)


def test_init_puts_the_admins_ssh_key_in_the_policy(staffed: Desk,
                                                    people: dict[str, Person]) -> None:
    policy = plain(yamlio.load((staffed.path / ".gitdesk/policy.yaml").read_bytes(),
                                      "policy"))
    assert policy["admins"] == ["alice"]
    assert policy["people"]["alice"]["keys"] == [people["alice"].public_key()]
    assert policy["people"]["bob"]["keys"] == [people["bob"].public_key()]
    for group in ("service-desk", "managers", "cab", "ecab"):
        assert "alice" in policy["groups"][group]["members"]
    # the policy commit was signed by alice, so the history verifies
    staffed.ok("verify")


def test_ssh_approval_is_one_signed_commit_that_git_verifies(
        staffed: Desk, people: dict[str, Person], tmp_path: Path) -> None:
    bob = people["bob"]
    tid = ready_change(staffed, people["dave"])
    before = staffed.commits()
    result = staffed.as_(bob, "approve", tid, "-m", "CAB 2030-01-08: go")
    assert result.exit_code == 0, result.stderr
    assert staffed.commits() == before + 1
    raw = staffed.git("cat-file", "-p", "HEAD")
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in raw
    assert staffed.git("show", "--name-only", "--format=", "HEAD").split() == \
        [ticket_path("change", tid)]
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(bob.allowed_signers())
    checked = run(["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit",
                   "-v", "HEAD"], cwd=staffed.path, check=False)
    assert checked.returncode == 0, checked.stderr
    assert 'Good "git" signature for bob' in checked.stderr
    # negative control: a file that trusts only alice's key does not accept it
    allowed.write_text(people["alice"].allowed_signers())
    assert run(["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit",
                "HEAD"], cwd=staffed.path, check=False).returncode != 0
    ticket = staffed.ticket(tid)
    assert len(ticket["approvals"]) == 1
    assert_entry(ticket["approvals"][0], ticket, by="bob", decision="approved", group="cab",
                 comment="CAB 2030-01-08: go")
    assert staffed.git("status", "--porcelain") == ""
    staffed.ok("verify")


def test_ssh_rejection_is_signed_and_records_the_reason(
        staffed: Desk, people: dict[str, Person], tmp_path: Path) -> None:
    bob = people["bob"]
    tid = ready_change(staffed, bob)
    staffed.ok_as(bob, "reject", tid, "-m", "No rollback test")
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in staffed.git("cat-file", "-p", "HEAD")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(bob.allowed_signers())
    run(["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", "HEAD"],
        cwd=staffed.path)
    ticket = staffed.ticket(tid)
    assert len(ticket["approvals"]) == 1
    assert_entry(ticket["approvals"][0], ticket, by="bob", decision="rejected", group="cab",
                 comment="No rollback test")
    staffed.ok("verify")


@pytest.mark.slow
def test_openpgp_approval_and_rejection(tmp_path: Path, gnupg: GnuPG) -> None:
    alice = Person("alice", openpgp=gnupg.new_key("alice"))
    bob = Person("bob", openpgp=gnupg.new_key("bob"))
    desk = init_desk(tmp_path / "desk", alice)
    policy = plain(yamlio.load((desk.path / ".gitdesk/policy.yaml").read_bytes(), "p"))
    assert policy["people"]["alice"]["keys"] == [f"openpgp:{alice.openpgp}"]
    armored = (desk.path / f".gitdesk/keys/{alice.openpgp}.asc").read_text()
    assert armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")

    # alice adds bob (his fingerprint, his armored key) to the policy, signed with gpg
    assert bob.openpgp is not None
    (desk.path / f".gitdesk/keys/{bob.openpgp}.asc").write_text(gnupg.export(bob.openpgp))

    def add_bob(data: Any) -> None:
        data["people"]["bob"] = yamlio.flow_map(
            {"name": "Bob", "email": "bob@example.org",
             "keys": yamlio.seq([f"openpgp:{bob.openpgp}"])})
        data["groups"]["cab"]["members"].append("bob")

    edit_yaml(desk.path / ".gitdesk/policy.yaml", add_bob)
    commit(desk.path, alice, "policy: bob joins the CAB", sign=True)
    assert "BEGIN PGP SIGNATURE" in desk.git("cat-file", "-p", "HEAD")

    approved = ready_change(desk, alice, summary="Rotate TLS certificate on web01")
    desk.ok_as(bob, "approve", approved, "-m", "fine by me")
    raw = desk.git("cat-file", "-p", "HEAD")
    assert "gpgsig -----BEGIN PGP SIGNATURE-----" in raw
    run(["git", "verify-commit", "HEAD"], cwd=desk.path)  # GNUPGHOME is the test's keyring
    assert desk.git("log", "-1", "--format=%G? %GF").split() == ["G", bob.openpgp]
    ticket = desk.ticket(approved)
    assert_entry(ticket["approvals"][0], ticket, by="bob", decision="approved", group="cab",
                 comment="fine by me")
    desk.ok_as(bob, "transition", approved, "scheduled")

    rejected = ready_change(desk, alice, summary="Replace the core switch")
    desk.ok_as(alice, "reject", rejected, "-m", "no maintenance window agreed")
    assert desk.git("log", "-1", "--format=%G? %GF").split() == ["G", alice.openpgp]
    ticket = desk.ticket(rejected)
    assert ticket["status"] == "new"
    assert_entry(ticket["approvals"][0], ticket, by="alice", decision="rejected", group="cab",
                 comment="no maintenance window agreed")
    desk.ok("verify")
    fsck(desk.path)

    # the server's hook checks the OpenPGP signatures with the keys in the desk,
    # not with anybody's keyring
    bare = bare_with_hooks(tmp_path / "server.git")
    pushed = run(["git", "push", f"file://{bare}", "main"], cwd=desk.path, check=False,
                 env={"GNUPGHOME": str(tmp_path / "no-keyring"), "GITDESK": GITDESK})
    assert pushed.returncode == 0, pushed.stderr
    edit_yaml(desk.file(rejected), hand_approve("bob", "cab"))
    forged = commit(desk.path, alice, "approval for bob, signed by alice", sign=True)
    refused = run(["git", "push", f"file://{bare}", "main"], cwd=desk.path, check=False,
                  env={"GITDESK": GITDESK})
    assert refused.returncode != 0
    assert f"{forged[:10]} " in refused.stderr
    assert "approval names bob but the commit is signed by alice [signature]" in refused.stderr


def test_approving_without_a_signing_key_is_refused_with_instructions(
        staffed: Desk, people: dict[str, Person]) -> None:
    bob = people["bob"]
    tid = ready_change(staffed, bob)
    head = staffed.head()
    unsigned = config_env({"user.name": "Bob", "user.email": bob.email, "gpg.format": "ssh"})
    result = staffed("approve", tid, "-m", "ok", env=unsigned)
    assert result.exit_code == 1
    assert "signing key" in result.stderr
    assert "git config user.signingkey" in result.stderr
    assert "people.<you>.keys" in result.stderr
    assert staffed.head() == head
    assert staffed.git("status", "--porcelain") == ""
    assert not staffed.ticket(tid).get("approvals")


def test_approving_when_the_policy_lists_no_key_for_you_is_refused(
        tmp_path: Path, people: dict[str, Person]) -> None:
    erin = Person("erin", ssh_key(tmp_path / "keys", "erin"))
    desk = init_desk(tmp_path / "desk", people["alice"])

    def add_erin_without_key(policy: Any) -> None:
        policy["people"]["erin"] = yamlio.flow_map(
            {"name": "Erin", "email": erin.email, "keys": yamlio.seq()})
        policy["groups"]["cab"]["members"].append("erin")

    edit_yaml(desk.path / ".gitdesk/policy.yaml", add_erin_without_key)
    commit(desk.path, people["alice"], "policy: erin joins the CAB", sign=True)
    tid = ready_change(desk, erin)
    head = desk.head()
    result = desk.as_(erin, "approve", tid)
    assert result.exit_code == 1
    assert "no signing key for erin" in result.stderr
    assert desk.head() == head


def test_approving_with_someone_elses_key_is_refused(staffed: Desk,
                                                     people: dict[str, Person]) -> None:
    bob = people["bob"]
    tid = ready_change(staffed, bob)
    head = staffed.head()
    result = staffed("approve", tid, "-m", "ok",
                     env=bob.env({"user.signingkey": str(people["alice"].key)}))
    assert result.exit_code == 1
    assert "approval names bob but the commit is signed by alice" in result.stderr
    assert staffed.head() == head
    assert not staffed.ticket(tid).get("approvals")


def test_approving_with_an_email_the_policy_does_not_know_is_refused(
        staffed: Desk, people: dict[str, Person]) -> None:
    tid = ready_change(staffed, people["bob"])
    head = staffed.head()
    result = staffed("approve", tid,
                     env=people["bob"].env({"user.email": "robert@elsewhere.example"}))
    assert result.exit_code == 1
    assert "robert@elsewhere.example is not a person of the policy" in result.stderr
    assert staffed.head() == head
