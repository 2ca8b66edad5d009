"""Approvals are commits signed with the approver's own key (SSH or OpenPGP).

Keys are made here (ssh-keygen, gpg in a temporary GNUPGHOME) and the commits
are checked with the real git binary, not only with gitdesk's own verifier.

This module also holds the helpers that the approval, hook, review, CI and
notification tests share: people with keys and git identities, a desk whose
policy lists them (edited and signed by the admin with plain `git commit -S`),
ready-for-approval changes and hand edits of ticket files.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import Gitdesk, fsck
from gitdesk.domain.approvals import content_hash
from gitdesk.domain.model import plain, ticket_path
from gitdesk.yaml import roundtrip as yamlio

WINDOW = "2030-01-10T22:00Z/2h"
ENTRY_KEYS = {"by", "decision", "at", "comment", "level", "group", "content_hash"}

# ---------------------------------------------------------------------------
# shared helpers


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
        input: str | None = None, check: bool = True,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A real program with the test's environment plus `env`; failures show the output."""
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, input=input,
                          capture_output=True, text=True, check=False, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stdout}\n"
                             f"{proc.stderr}")
    return proc


def gitdesk_executable() -> str:
    found = shutil.which("gitdesk", path=str(Path(sys.executable).parent)) \
        or shutil.which("gitdesk")
    assert found, "the gitdesk console script is not installed"
    return found


GITDESK = gitdesk_executable()


def bare_with_hooks(path: Path) -> Path:
    """A bare repository (the server) with gitdesk's pre-receive and update hooks."""
    run(["git", "init", "-q", "--bare", "-b", "main", str(path)])
    Gitdesk(path.parent)("--repo", str(path), "hooks", "install", "--server").ok()
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for servers the tests start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config_env(settings: dict[str, str]) -> dict[str, str]:
    """git configuration given through the environment (GIT_CONFIG_COUNT/KEY/VALUE)."""
    env = {"GIT_CONFIG_COUNT": str(len(settings))}
    for i, (key, value) in enumerate(settings.items()):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def ssh_key(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@example.org",
         "-f", str(path)])
    return path


@dataclass(frozen=True)
class Person:
    """Someone at the desk: a git identity and (usually) an SSH signing key."""

    id: str
    key: Path | None = None
    openpgp: str | None = None  # fingerprint in the test's GNUPGHOME

    @property
    def name(self) -> str:
        return self.id.capitalize()

    @property
    def email(self) -> str:
        return f"{self.id}@example.org"

    def settings(self) -> dict[str, str]:
        settings = {"user.name": self.name, "user.email": self.email}
        if self.key is not None:
            settings |= {"gpg.format": "ssh", "user.signingkey": str(self.key)}
        elif self.openpgp is not None:
            settings |= {"gpg.format": "openpgp", "user.signingkey": self.openpgp}
        return settings

    def env(self, overrides: dict[str, str] | None = None) -> dict[str, str]:
        """Environment that makes git (and gitdesk) act as this person."""
        return config_env(self.settings() | (overrides or {}))

    def public_key(self) -> str:
        assert self.key is not None
        kind, body = Path(f"{self.key}.pub").read_text().split()[:2]
        return f"{kind} {body}"

    def allowed_signers(self) -> str:
        return f'{self.id} namespaces="git" {self.public_key()}\n'


def team(directory: Path, *names: str) -> dict[str, Person]:
    """People with fresh SSH keys (alice, bob, carol, dave by default)."""
    names = names or ("alice", "bob", "carol", "dave")
    return {name: Person(name, ssh_key(directory / "keys", name)) for name in names}


class Desk(Gitdesk):
    """A Gitdesk runner that can act as one person or another."""

    def as_(self, who: Person, *args: str, env: dict[str, str] | None = None) -> Any:
        return self(*args, env={**who.env(), **(env or {})})

    def ok_as(self, who: Person, *args: str, env: dict[str, str] | None = None) -> str:
        return str(self.as_(who, *args, env=env).ok().stdout)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def ticket(self, tid: str) -> dict[str, Any]:
        return dict(json.loads(self.ok("show", tid, "--format", "json")))

    def file(self, tid: str) -> Path:
        return self.path / ticket_path("change" if tid.startswith("CHG-") else
                                       {"INC": "incident", "REQ": "request",
                                        "PRB": "problem"}[tid[:3]], tid)


def init_desk(path: Path, admin: Person, env: dict[str, str] | None = None) -> Desk:
    result = Gitdesk(path.parent)("init", str(path), env={**admin.env(), **(env or {})})
    assert result.exit_code == 0, result.stderr
    return Desk(path)


def commit(repo: Path, who: Person, message: str, *, sign: bool,
           env: dict[str, str] | None = None) -> str:
    """`git add -A && git commit` by hand, signed with -S or explicitly unsigned."""
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-q", "-S" if sign else "--no-gpg-sign", "-m", message], cwd=repo,
        env={**who.env(), **(env or {})})
    return run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    """Edit a YAML file in round-trip mode, as a person with an editor would."""
    data = yamlio.load(path.read_bytes(), str(path))
    change(data)
    path.write_bytes(yamlio.dump(data))


def add_people(team: dict[str, Person], groups: dict[str, list[str]],
               rules: list[dict[str, Any]] | None = None) -> Callable[[Any], None]:
    """A policy edit: people with their public keys, group members, extra rules."""

    def change(policy: Any) -> None:
        for person in team.values():
            if person.id not in policy["people"]:
                keys = [person.public_key()] if person.key is not None else []
                policy["people"][person.id] = yamlio.flow_map(
                    {"name": person.name, "email": person.email, "keys": yamlio.seq(keys)})
        for group, members in groups.items():
            policy["groups"][group]["members"].extend(
                m for m in members if m not in policy["groups"][group]["members"])
        for rule in rules or []:
            policy["rules"].append(rule)

    return change


STAFF = {"cab": ["bob"], "dba": ["carol"], "service-desk": ["dave"]}
TWO_CAB = {"name": "high-risk changes need two CAB members",
           "when": {"type": "change", "risk": "high"},
           "require": [{"group": "cab", "count": 2}]}


def staffed_desk(path: Path, people: dict[str, Person],
                 rules: list[dict[str, Any]] | None = None) -> Desk:
    """alice inits the desk (admin, cab, ecab) and adds bob (cab), carol (dba) and
    dave (service desk only) with their SSH keys, in a commit she signs."""
    desk = init_desk(path, people["alice"])
    edit_yaml(path / ".gitdesk/policy.yaml", add_people(people, STAFF, rules))
    commit(path, people["alice"], "policy: add the team", sign=True)
    return desk


def ready_change(desk: Desk, who: Person, *, summary: str = "Upgrade nginx on web01",
                 ci: str = "web01", cis: str | None = None, risk: str = "medium",
                 change_type: str = "normal") -> str:
    """A change with plans, risk and window, moved to authorize (awaiting approval)."""
    args = ["open", "change", "-s", summary, "--window", WINDOW, "--risk", risk, "--ci", ci,
            "--change-type", change_type]
    if cis:
        args += ["--cis", cis]
    tid = desk.ok_as(who, *args).strip()
    desk.ok_as(who, "set", tid, "implementation_plan=apt-get install nginx=1.26",
               "backout_plan=apt-get install nginx=1.24", "test_plan=curl -fsS http://web01/")
    if change_type == "normal":
        desk.ok_as(who, "transition", tid, "assess")
    desk.ok_as(who, "transition", tid, "authorize")
    assert desk.ticket(tid)["status"] == "authorize"
    return tid


def approval_entry(ticket: Any, who: str, group: str, decision: str = "approved",
                   level: int = 0) -> Any:
    """An approval entry as gitdesk would write it, for the ticket as it is now."""
    return yamlio.flow_map({"by": who, "decision": decision,
                            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "level": level, "group": group,
                            "content_hash": content_hash(plain(ticket))})


def hand_approve(who: str, group: str) -> Callable[[Any], None]:
    def change(ticket: Any) -> None:
        entry = approval_entry(ticket, who, group)
        if ticket.get("approvals") is None:
            ticket["approvals"] = yamlio.seq()
        ticket["approvals"].append(entry)

    return change


# ---------------------------------------------------------------------------
# OpenPGP keys in a throw-away GNUPGHOME


@dataclass
class GnuPG:
    home: Path

    @property
    def env(self) -> dict[str, str]:
        return {"GNUPGHOME": str(self.home)}

    def new_key(self, person: str) -> str:
        """An unprotected ed25519 signing key; returns its fingerprint."""
        params = self.home / f"{person}.params"
        params.write_text(f"%no-protection\nKey-Type: eddsa\nKey-Curve: ed25519\n"
                          f"Key-Usage: sign\nName-Real: {person.capitalize()}\n"
                          f"Name-Email: {person}@example.org\nExpire-Date: 0\n%commit\n")
        run(["gpg", "--batch", "--gen-key", str(params)], env=self.env)
        listing = run(["gpg", "--batch", "--with-colons", "--fingerprint",
                       f"<{person}@example.org>"], env=self.env).stdout
        return next(line.split(":")[9] for line in listing.splitlines()
                    if line.startswith("fpr:"))

    def export(self, fingerprint: str) -> str:
        return run(["gpg", "--batch", "--armor", "--export", fingerprint], env=self.env).stdout


@pytest.fixture
def gnupg(monkeypatch: pytest.MonkeyPatch) -> Iterator[GnuPG]:
    """A GNUPGHOME of its own (short path: gpg-agent's socket must fit), agent killed after."""
    home = Path(tempfile.mkdtemp(prefix="gd-gpg-"))
    home.chmod(0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    try:
        yield GnuPG(home)
    finally:
        run(["gpgconf", "--kill", "all"], env={"GNUPGHOME": str(home)}, check=False)
        shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------------------
# tests


@pytest.fixture
def people(tmp_path: Path) -> dict[str, Person]:
    return team(tmp_path)


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
