"""Signing keys: only parsed keys, revoked and expired OpenPGP keys sign nothing, the
unprotected (trust on first use) state is said out loud, keys are added, removed and
rotated with `gitdesk people key`, and init without a git identity leaves nothing.

Each rule is tried the way someone would get around it: a hostile key string given to
`people add`, a hand-edited policy that an admin signs and pushes to a hooked server,
approvals signed by hand with `git commit -S` and keys that are revoked or expired.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitdesk.domain import schema
from gitdesk.domain.config import POLICY_PATH
from gitdesk.yaml import roundtrip as yamlio
from support import keys as ks
from support.cli import Gitdesk
from support.edits import edit_yaml, hand_approve
from support.git import fsck, run
from support.people import Desk, Person, commit, init_desk, ready_change, staffed_desk, team
from support.server import GITDESK, bare_with_hooks
from support.signing import GnuPG, ssh_key


@pytest.fixture
def people(tmp_path: Path) -> dict[str, Person]:
    return team(tmp_path, "alice", "bob", "carol", "dave", "erin", "mallory")


@pytest.fixture
def staffed(tmp_path: Path, people: dict[str, Person]) -> Desk:
    crew = {k: v for k, v in people.items() if k in ("alice", "bob", "carol", "dave")}
    return staffed_desk(tmp_path / "desk", crew)


def policy_of(desk: Gitdesk) -> Any:
    return json.loads(json.dumps(yamlio.load((desk.path / POLICY_PATH).read_bytes(), "p")))


def head(desk: Gitdesk) -> str:
    return desk.git("rev-parse", "HEAD").strip()


def two_line_key(erin: Person, mallory: Person, victim: str = "bob") -> str:
    """erin's real key line, then a second line that gives mallory's key to `victim`."""
    return f'{erin.public_key()} erin@example.org\n{victim} namespaces="git" ' \
           f"{mallory.public_key()}"


def hand_approval(desk: Desk, tid: str, by: str, signer: Person,
                  env: dict[str, str] | None = None) -> str:
    """An approval entry for `by`, committed by hand and signed with `signer`'s key."""
    edit_yaml(desk.file(tid), hand_approve(by, "cab"))
    return commit(desk.path, signer, f"{tid}: approve", sign=True, env=env)


def push(desk: Desk, bare: Path, who: Person) -> subprocess.CompletedProcess[str]:
    return run(["git", "push", f"file://{bare}", "HEAD:refs/heads/main"], cwd=desk.path,
               env={**who.env(), "GITDESK": GITDESK}, check=False)


# ---------------------------------------------------------------------------
# 1. key strings are parsed, never trusted as text


def test_people_add_refuses_a_two_line_key(staffed: Desk, people: dict[str, Person]) -> None:
    """The outsider's "public key" would add an allowed-signers line giving mallory's key
    to bob, whose approvals mallory could then sign."""
    before = head(staffed)
    attack = two_line_key(people["erin"], people["mallory"])
    result = staffed.as_(people["alice"], "people", "add", "erin", "--name", "Erin",
                         "--email", "erin@example.org", "--key", attack)
    assert result.exit_code == 2, result.stderr
    assert "--key:" in result.stderr
    assert "contains a line break (U+000A)" in result.stderr
    assert head(staffed) == before
    assert "erin" not in policy_of(staffed)["people"]
    assert staffed.git("status", "--porcelain") == ""


def test_people_add_takes_a_pasted_key_and_stores_it_parsed(
        staffed: Desk, people: dict[str, Person]) -> None:
    erin = people["erin"]
    pasted = f"  {erin.public_key().replace(' ', '   ')}   Erin's laptop \n"
    staffed.ok_as(people["alice"], "people", "add", "erin", "--name", "Erin", "--email",
                  erin.email, "--group", "cab", "--key", pasted)
    assert policy_of(staffed)["people"]["erin"]["keys"] == \
        [f"{erin.public_key()} Erin's laptop"]
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in staffed.git("cat-file", "-p", "HEAD")
    tid = ready_change(staffed, people["dave"])
    staffed.ok_as(erin, "approve", tid)
    staffed.ok("verify")


@pytest.mark.parametrize(("key", "says"), [
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAPnXvCpPP9U30wZQEieogdwAULeBDzL1 a\rb",
     "line break (U+000D)"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAPnXvCpPP9U30wZQEieogdwAULeBDzL1 a\x00b",
     "control character (U+0000)"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAPnXvCpPP9U30wZQEieogdwAULeBDzL1 "
     "evil\u202egro.elpmaxe", "control character (U+202E)"),
    ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "unknown key type 'ssh-dss'"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAPnXvCpPP9U30wZQEieogdwAULeBDzL",
     "not base64"),
    ("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAPnXvCpPP9U30wZQEieogdwAULeBDzL1",
     "says ssh-rsa but its key data holds a ssh-ed25519 key"),
    (ks.wire_key("ssh-ed25519", b"\x01" * 31), "not a valid ssh-ed25519 key"),
    (ks.wire_key("ssh-rsa", b"\x01\x00\x01", b"\x7f" * 64), "at least 1024 bits"),
    (ks.wire_key("ecdsa-sha2-nistp256", b"nistp384", b"\x04" * 65),
     "not a valid ecdsa-sha2-nistp256 key"),
    ("ssh-ed25519", "without its key data"),
    ("/home/erin/.ssh/id_ed25519.pub", "is not an SSH public key"),
    ("openpgp:1234", "40 hex digits"),
])
def test_people_key_add_refuses_what_is_not_a_key(staffed: Desk, people: dict[str, Person],
                                                  key: str, says: str) -> None:
    before = head(staffed)
    result = staffed.as_(people["alice"], "people", "key", "add", "bob", key)
    assert result.exit_code == 2, result.stderr
    assert f"KEY: {repr(key)[:20]}" in result.stderr
    assert says in result.stderr
    assert "hint: a key is an SSH public key (TYPE BASE64 [COMMENT]) or openpgp:" \
        in result.stderr
    assert head(staffed) == before


def test_a_hand_edited_policy_with_a_two_line_key_is_refused_by_the_server(
        tmp_path: Path, staffed: Desk, people: dict[str, Person]) -> None:
    """An admin is talked into pasting the outsider's key into policy.yaml by hand and
    signs the commit: the server's hook refuses the policy, and so do verify and doctor."""
    bare = bare_with_hooks(tmp_path / "server.git")
    assert push(staffed, bare, people["alice"]).returncode == 0
    served = run(["git", "-C", str(bare), "rev-parse", "main"]).stdout.strip()

    def add_erin(policy: Any) -> None:
        policy["people"]["erin"] = yamlio.flow_map(
            {"name": "Erin", "email": "erin@example.org",
             "keys": yamlio.seq([two_line_key(people["erin"], people["mallory"])])})

    edit_yaml(staffed.path / POLICY_PATH, add_erin)
    bad = commit(staffed.path, people["alice"], "policy: add erin", sign=True)
    refused = push(staffed, bare, people["alice"])
    assert refused.returncode != 0, refused.stderr
    assert f"{bad[:10]} {POLICY_PATH}: " in refused.stderr
    assert "people.erin.keys.0: " in refused.stderr
    assert "is not an SSH public key (TYPE BASE64 [COMMENT]) or openpgp:FINGERPRINT" \
        in refused.stderr
    assert "[config]" in refused.stderr
    assert run(["git", "-C", str(bare), "rev-parse", "main"]).stdout.strip() == served

    verified = staffed("verify")
    assert verified.exit_code == 4
    assert f"{bad[:10]} {POLICY_PATH}: " in verified.stdout
    doctor = staffed("doctor")
    assert doctor.exit_code == 1
    assert "people.erin.keys.0" in doctor.stdout


def test_the_verifier_builds_allowed_signers_from_parsed_keys(
        tmp_path: Path, people: dict[str, Person]) -> None:
    """Even a policy that never met the schema (an old cache, another tool) cannot
    smuggle a line into the allowed-signers file."""
    from gitdesk.domain.config import build_policy
    from gitdesk.verify import signing

    erin, mallory = people["erin"], people["mallory"]
    policy = build_policy({
        "people": {"bob": {"name": "Bob", "keys": [people["bob"].public_key()]},
                   "erin": {"name": "Erin", "keys": [two_line_key(erin, mallory)]}},
        "groups": {}, "admins": []})
    data = tmp_path / "data"
    data.write_bytes(b"tree 0123\n\napprove\n")
    run(["ssh-keygen", "-q", "-Y", "sign", "-n", "git", "-f", str(mallory.key), str(data)])
    signature = Path(f"{data}.sig").read_text()
    verdict = signing.verify(signature, data.read_bytes(), policy, {})
    assert verdict.person is None, verdict
    assert "gives nobody" in verdict.reason


def test_the_schema_key_pattern_is_the_one_the_key_types_give() -> None:
    assert schema.load_schema("policy")["$defs"]["key"]["pattern"] == ks.key_pattern()


def test_real_keys_of_every_type_pass_the_schema_and_the_parser(tmp_path: Path) -> None:
    from gitdesk.domain.keys import parse_key

    made = []
    for kind, bits in (("ed25519", None), ("rsa", "2048"), ("ecdsa", "256"), ("ecdsa", "384"),
                       ("ecdsa", "521")):
        path = tmp_path / f"{kind}{bits or ''}"
        run(["ssh-keygen", "-q", "-t", kind, *(["-b", bits] if bits else []), "-N", "",
             "-C", "someone@example.org", "-f", str(path)])
        made.append(Path(f"{path}.pub").read_text().strip())
    made.append("openpgp:" + "0123456789ABCDEF" * 2 + "01234567")
    for key in made:
        assert parse_key(key).ident in key
        doc = {"version": 1, "people": {"p": {"name": "P", "keys": [key]}}, "groups": {},
               "admins": []}
        assert schema.validate("policy", doc) == [], key


@pytest.mark.parametrize("key", [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAPnXvCpPP9U30wZQEieogdwAULeBDzL1\n",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAPnXvCpPP9U30wZQEieogdwAULeBDzL1 c\u2028x",
    "ssh-ed25519  AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAPnXvCpPP9U30wZQEieogdwAULeBDzL1",
    "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAPnXvCpPP9U30wZQEieogdwAULeBDzL1",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAPnXvCpPP9U30wZQEieogdwAULeBDzL",
    "openpgp:0123456789abcdef0123456789abcdef01234567",
    "0123456789ABCDEF0123456789ABCDEF01234567",
    "",
])
def test_the_schema_and_jsonschema_refuse_a_bad_key(key: str) -> None:
    import jsonschema

    from gitdesk.domain.keys import parse_key

    doc = {"version": 1, "people": {"p": {"name": "P", "keys": [key]}}, "groups": {},
           "admins": []}
    errors = schema.validate("policy", doc)
    assert [e.where for e in errors] == ["people.p.keys.0"]
    assert not jsonschema.Draft202012Validator(schema.load_schema("policy")).is_valid(doc)
    with pytest.raises(ValueError):
        parse_key(key)


def test_doctor_checks_every_key(tmp_path: Path, staffed: Desk, people: dict[str, Person],
                                 gnupg: GnuPG) -> None:
    """Keys that the schema's pattern lets through but that are no key, or an OpenPGP
    key without its armored block: doctor names each."""
    broken = ks.wire_key("ssh-ed25519", b"\x01" * 31)
    fpr = gnupg.new_key("carol")
    edit_yaml(staffed.path / POLICY_PATH, ks.set_keys("dave", [broken]))
    edit_yaml(staffed.path / POLICY_PATH, ks.set_keys("carol", [f"openpgp:{fpr}"]))
    commit(staffed.path, people["alice"], "policy: keys by hand", sign=True)
    result = staffed("doctor")
    assert result.exit_code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{POLICY_PATH}:") and "people.dave.keys.0: its key data is "
               "not a valid ssh-ed25519 key" in line for line in lines), lines
    assert any(f"people.carol.keys.0: no .gitdesk/keys/{fpr}.asc" in line
               for line in lines), lines


# ---------------------------------------------------------------------------
# 2. revoked and expired OpenPGP keys sign nothing


def openpgp_desk(tmp_path: Path, people: dict[str, Person], bob: Person,
                 armored: str) -> Desk:
    """alice's desk (SSH) where bob, in the CAB, signs with OpenPGP key `armored`."""
    desk = init_desk(tmp_path / "desk", people["alice"])
    assert bob.openpgp is not None
    (desk.path / ".gitdesk/keys").mkdir(exist_ok=True)
    (desk.path / f".gitdesk/keys/{bob.openpgp}.asc").write_text(armored)

    def add_bob(policy: Any) -> None:
        policy["people"]["bob"] = yamlio.flow_map(
            {"name": "Bob", "email": bob.email, "keys": yamlio.seq([f"openpgp:{bob.openpgp}"])})
        policy["groups"]["cab"]["members"].append("bob")

    edit_yaml(desk.path / POLICY_PATH, add_bob)
    commit(desk.path, people["alice"], "policy: bob joins the CAB", sign=True)
    return desk


def approval_validity(desk: Desk, tid: str) -> list[str]:
    text = desk.ok("show", tid)
    return [line for line in text[text.index("Approvals:"):].splitlines()
            if " approved for " in line]


def refused_approval(desk: Desk, tid: str, forged: str, why: str) -> Any:
    """`gitdesk verify` refuses bob's approval in commit `forged`, saying why, and
    `show` marks it not trusted; returns the verify run."""
    verified = desk("verify")
    assert verified.exit_code == 4, verified.stdout
    assert f"{forged[:10]} " in verified.stdout
    assert f"approval by bob is not trusted: OpenPGP signature not trusted: {why} " \
           "[signature]" in verified.stdout
    assert [line.split(": ", 1)[1] for line in approval_validity(desk, tid)] == \
        ["signature not trusted"]
    return verified


def test_a_revoked_openpgp_key_signs_nothing(tmp_path: Path, people: dict[str, Person],
                                             gnupg: GnuPG) -> None:
    bob = Person("bob", openpgp=gnupg.new_key("bob"))
    assert bob.openpgp is not None
    desk = openpgp_desk(tmp_path, people, bob, gnupg.export(bob.openpgp))
    earlier = ready_change(desk, people["dave"])
    desk.ok_as(bob, "approve", earlier, "-m", "before the revocation")  # the key works

    # bob's key is compromised: alice puts its revocation into .gitdesk/keys
    tid = ready_change(desk, people["dave"], summary="Patch the mail relay")
    revoked = ks.revoked_export(gnupg.home, bob.openpgp, tmp_path / "scratch-gpg")
    (desk.path / f".gitdesk/keys/{bob.openpgp}.asc").write_text(revoked)
    commit(desk.path, people["alice"], "policy: bob's key is revoked", sign=True)
    desk.ok("verify")

    refused = desk.as_(bob, "approve", tid)
    assert refused.exit_code == 1
    assert "the key is revoked" in refused.stderr
    forged = hand_approval(desk, tid, "bob", bob)  # by hand, with the unrevoked keyring
    run(["git", "verify-commit", forged], cwd=desk.path)  # the user's gpg still accepts it
    verified = refused_approval(desk, tid, forged, "the key is revoked")
    # what it signed before the revocation was judged by the keys of its own parent
    assert verified.stdout.count("\n") == 1
    assert [line.split(": ", 1)[1] for line in approval_validity(desk, earlier)] == \
        ["valid — before the revocation"]
    doctor = desk("doctor")
    assert f"openpgp:{bob.openpgp} is revoked" in doctor.stdout


def test_an_expired_openpgp_key_signs_nothing(tmp_path: Path, people: dict[str, Person],
                                              gnupg: GnuPG) -> None:
    fpr = ks.expiring_key(gnupg.home, "bob", "20240101T000000")
    bob = Person("bob", openpgp=fpr)
    desk = openpgp_desk(tmp_path, people, bob, gnupg.export(fpr))
    tid = ready_change(desk, people["dave"])
    # signed while the key was valid (gpg's clock set to then), checked now
    gpg_then = ks.faked_gpg(tmp_path, "20240101T060000")
    forged = hand_approval(desk, tid, "bob", bob, env=bob.env({"gpg.program": str(gpg_then)}))
    assert "BEGIN PGP SIGNATURE" in desk.git("cat-file", "-p", forged)
    refused_approval(desk, tid, forged, "the key has expired")
    result = desk.as_(bob, "transition", tid, "scheduled")
    assert result.exit_code == 1


# ---------------------------------------------------------------------------
# 3. the unprotected state (trust on first use) is said, and left with `people key`


def unsigned(who: str = "admin") -> dict[str, str]:
    """git settings of someone with no signing key."""
    return {"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "user.name",
            "GIT_CONFIG_VALUE_0": who.capitalize(), "GIT_CONFIG_KEY_1": "user.email",
            "GIT_CONFIG_VALUE_1": f"{who}@example.org"}


def test_init_without_a_signing_key_says_the_desk_is_unprotected(tmp_path: Path) -> None:
    result = Gitdesk(tmp_path)("init", "desk", env=unsigned("alice"))
    assert result.exit_code == 0, result.stderr
    assert "warning: this desk is unprotected until an admin has a signing key" in \
        result.stderr
    assert 'gitdesk people key add alice "$(cat ~/.ssh/id_ed25519.pub)"' in result.stderr
    assert "(in desk)" in result.stderr
    assert result.stdout == ""


def test_init_with_a_signing_key_says_nothing_of_it(tmp_path: Path,
                                                   people: dict[str, Person]) -> None:
    result = Gitdesk(tmp_path)("init", "desk", env=people["alice"].env())
    assert result.exit_code == 0, result.stderr
    assert "unprotected" not in result.stderr


def test_doctor_and_verify_warn_while_no_admin_has_a_key(tmp_path: Path,
                                                         people: dict[str, Person]) -> None:
    Gitdesk(tmp_path)("init", "desk", env=unsigned("alice")).ok()
    desk = Desk(tmp_path / "desk")
    doctor = desk("doctor")
    assert doctor.exit_code == 0, doctor.stdout
    assert doctor.stdout == ""
    assert "gitdesk: warning: the desk is unprotected: no admin has a signing key" in \
        doctor.stderr
    assert "desk is healthy, but unprotected" in doctor.stderr
    for args in ((), ("HEAD",), ("HEAD~0..HEAD",)):
        verified = desk("verify", *args)
        assert verified.exit_code == 0 and verified.stdout == ""
        assert "gitdesk: warning: at " in verified.stderr
        assert "no admin of the policy has a signing key" in verified.stderr
        assert "gitdesk people key add ID KEY" in verified.stderr
    assert desk("verify", "--format", "json").stdout.strip() == "[]"

    # the admin gives herself a key (trusted on first use, so unsigned), and signs from then on
    alice = people["alice"]
    desk.ok("people", "key", "add", "alice", alice.public_key(), env=unsigned("alice"))
    assert "gpgsig" not in desk.git("cat-file", "-p", "HEAD")
    assert "unprotected" not in desk("doctor").stderr
    assert "warning" not in desk("verify").stderr
    # an unsigned policy change by anyone is now refused, and alice's signed one goes in
    mallory = people["mallory"]
    edit_yaml(desk.path / POLICY_PATH, ks.set_keys("alice", [mallory.public_key()]))
    commit(desk.path, mallory, "policy: take over", sign=False)
    assert desk("verify").exit_code == 4
    desk.git("reset", "-q", "--hard", "HEAD~1")
    desk.ok_as(alice, "people", "add", "bob", "--name", "Bob", "--key",
               people["bob"].public_key())
    assert "gpgsig -----BEGIN SSH SIGNATURE-----" in desk.git("cat-file", "-p", "HEAD")
    desk.ok("verify")


def test_hooks_install_server_refuses_an_unprotected_desk(tmp_path: Path,
                                                          people: dict[str, Person]) -> None:
    Gitdesk(tmp_path)("init", "desk", env=unsigned("alice")).ok()
    bare = tmp_path / "server.git"
    run(["git", "clone", "-q", "--bare", str(tmp_path / "desk"), str(bare)])
    hooks = bare / "hooks"
    result = Gitdesk(tmp_path)("hooks", "install", "--server", "--repo", str(bare))
    assert result.exit_code == 1, result.stderr
    assert "refusing to install the server hooks: no admin of the desk's policy on " \
           "refs/heads/main has a signing key" in result.stderr
    assert "gitdesk people key add ID KEY" in result.stderr
    assert "--allow-unprotected" in result.stderr
    assert not (hooks / "pre-receive").exists() and not (hooks / "update").exists()

    allowed = Gitdesk(tmp_path)("hooks", "install", "--server", "--repo", str(bare),
                                "--allow-unprotected")
    assert allowed.exit_code == 0, allowed.stderr
    assert "installed pre-receive" in allowed.stderr
    assert "warning: no admin of the policy has a signing key" in allowed.stderr
    # the client hook in a clone is not about the server: no refusal
    assert Gitdesk(tmp_path / "desk")("hooks", "install").exit_code == 0


def test_hooks_install_server_on_a_protected_desk(tmp_path: Path, staffed: Desk) -> None:
    bare = tmp_path / "server.git"
    run(["git", "clone", "-q", "--bare", str(staffed.path), str(bare)])
    result = Gitdesk(tmp_path)("hooks", "install", "--server", "--repo", str(bare))
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr


def test_a_push_that_leaves_the_desk_unprotected_is_warned_about(
        tmp_path: Path, staffed: Desk, people: dict[str, Person]) -> None:
    bare = bare_with_hooks(tmp_path / "server.git")
    first = push(staffed, bare, people["alice"])
    assert first.returncode == 0 and "unprotected" not in first.stderr
    staffed.ok_as(people["alice"], "people", "key", "remove", "alice",
                  people["alice"].public_key(), "--allow-unprotected")
    pushed = push(staffed, bare, people["alice"])
    assert pushed.returncode == 0, pushed.stderr
    assert "gitdesk: warning: after this push, on refs/heads/main: no admin of the policy " \
           "has a signing key" in pushed.stderr


def test_key_rotation_is_signed_by_the_old_key_and_the_new_one_signs_after(
        tmp_path: Path, staffed: Desk, people: dict[str, Person]) -> None:
    alice = people["alice"]
    new = Person("alice", ssh_key(tmp_path / "new-keys", "alice"))
    # the new key cannot sign its own admission
    refused = staffed.as_(new, "people", "key", "add", "alice", new.public_key(),
                          "--replace", alice.public_key())
    assert refused.exit_code == 1
    assert "must be signed by a policy admin" in refused.stderr
    # the old key, which the parent policy trusts, signs the rotation
    staffed.ok_as(alice, "people", "key", "add", "alice", new.public_key(),
                  "--replace", alice.public_key())
    assert policy_of(staffed)["people"]["alice"]["keys"] == [new.public_key()]
    assert "Good \"git\" signature" in run(
        ["git", "-c", f"gpg.ssh.allowedSignersFile={_signers(tmp_path, alice)}",
         "verify-commit", "-v", "HEAD"], cwd=staffed.path).stderr
    # from the next commit on only the new key counts
    before = head(staffed)
    old_signed = staffed.as_(alice, "people", "add", "erin", "--name", "Erin")
    assert old_signed.exit_code == 1
    assert "must be signed by a policy admin (signed with an SSH key that the policy gives " \
           "nobody)" in old_signed.stderr
    assert head(staffed) == before
    staffed.ok_as(new, "people", "add", "erin", "--name", "Erin")
    tid = ready_change(staffed, people["dave"])
    staffed.ok_as(new, "approve", tid)
    staffed.ok_as(new, "transition", tid, "scheduled")
    staffed.ok("verify")
    fsck(staffed.path)


def _signers(tmp_path: Path, who: Person) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(who.allowed_signers())
    return path


def test_removing_the_last_admin_key_needs_allow_unprotected(
        staffed: Desk, people: dict[str, Person]) -> None:
    alice = people["alice"]
    before = head(staffed)
    refused = staffed.as_(alice, "people", "key", "remove", "alice", alice.public_key())
    assert refused.exit_code == 1
    assert "leaves no admin with a signing key" in refused.stderr
    assert "--allow-unprotected" in refused.stderr
    assert head(staffed) == before
    # a key that is not the last admin key goes without ado
    staffed.ok_as(alice, "people", "key", "remove", "bob", people["bob"].public_key())
    assert policy_of(staffed)["people"]["bob"]["keys"] == []
    missing = staffed.as_(alice, "people", "key", "remove", "bob", people["bob"].public_key())
    assert missing.exit_code == 2 and "is not a key of bob" in missing.stderr
    staffed.ok_as(alice, "people", "key", "remove", "alice", alice.public_key(),
                  "--allow-unprotected")
    assert "unprotected" in staffed("doctor").stderr
    staffed.ok("verify")


def test_people_key_add_refuses_a_key_someone_has_and_an_unknown_person(
        staffed: Desk, people: dict[str, Person]) -> None:
    alice = people["alice"]
    taken = staffed.as_(alice, "people", "key", "add", "dave", people["bob"].public_key())
    assert taken.exit_code == 1 and "is already a key of bob" in taken.stderr
    nobody = staffed.as_(alice, "people", "key", "add", "zoe", people["erin"].public_key())
    assert nobody.exit_code == 1 and "zoe is not a person of the policy" in nobody.stderr
    attack = staffed.as_(alice, "people", "key", "add", "dave",
                         two_line_key(people["erin"], people["mallory"]))
    assert attack.exit_code == 2 and "line break" in attack.stderr


def test_people_key_add_an_openpgp_key_with_its_armored_block(
        tmp_path: Path, staffed: Desk, people: dict[str, Person], gnupg: GnuPG) -> None:
    fpr = gnupg.new_key("carol")
    other = gnupg.new_key("erin")
    asc = tmp_path / "carol.asc"
    asc.write_text(gnupg.export(fpr))
    wrong = tmp_path / "erin.asc"
    wrong.write_text(gnupg.export(other))
    alice = people["alice"]
    grouped = "openpgp:" + " ".join(fpr[i:i + 4] for i in range(0, 40, 4)).lower()
    before = head(staffed)
    without = staffed.as_(alice, "people", "key", "add", "carol", grouped)
    assert without.exit_code == 2 and f"no .gitdesk/keys/{fpr}.asc" in without.stderr
    assert "--asc FILE" in without.stderr
    mismatch = staffed.as_(alice, "people", "key", "add", "carol", grouped, "--asc", str(wrong))
    assert mismatch.exit_code == 2 and "holds none of the OpenPGP keys" in mismatch.stderr
    assert head(staffed) == before
    staffed.ok_as(alice, "people", "key", "add", "carol", grouped, "--asc", str(asc))
    assert policy_of(staffed)["people"]["carol"]["keys"] == \
        [people["carol"].public_key(), f"openpgp:{fpr}"]
    assert (staffed.path / f".gitdesk/keys/{fpr}.asc").read_text() == asc.read_text()
    assert staffed.git("show", "--name-only", "--format=", "HEAD").split() == \
        [f".gitdesk/keys/{fpr}.asc", POLICY_PATH]
    staffed.ok("doctor")
    # carol signs with it
    carol = Person("carol", openpgp=fpr)
    edit_yaml(staffed.path / POLICY_PATH,
              lambda p: p["groups"]["cab"]["members"].append("carol"))
    commit(staffed.path, alice, "policy: carol joins the CAB", sign=True)
    tid = ready_change(staffed, people["dave"])
    staffed.ok_as(carol, "approve", tid)
    staffed.ok("verify")


# ---------------------------------------------------------------------------
# 4. init without a git identity creates nothing


@pytest.mark.parametrize("existing", [False, True])
def test_init_without_a_git_identity_leaves_nothing(tmp_path: Path, existing: bool) -> None:
    target = tmp_path / "fresh"
    if existing:
        target.mkdir()
        (target / "notes.txt").write_text("mine\n")
    result = Gitdesk(tmp_path)("init", "fresh", env=ks.no_identity_env(tmp_path))
    assert result.exit_code == 1, result.stderr
    assert not (target / ".git").exists()
    if existing:
        assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    else:
        assert not target.exists()
    assert "git does not know who you are" in result.stderr
    assert "git config --global user.email" in result.stderr
    assert "Traceback" not in result.stderr
    bare = Gitdesk(tmp_path)("init", "--bare", "srv.git", env=ks.no_identity_env(tmp_path))
    assert bare.exit_code == 1 and not (tmp_path / "srv.git").exists()
