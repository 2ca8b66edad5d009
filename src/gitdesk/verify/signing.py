"""Sign commits and verify commit signatures (ssh-keygen and gpg).

Signing follows git's configuration (`gpg.format`, `user.signingkey`), so a
commit gitdesk signs passes `git verify-commit` for anyone whose git trusts
the key. Verification does not trust the user's keyring or git's allowed
signers: the keys come from the desk's own policy as of the parent commit
(SSH public keys in policy.yaml; OpenPGP public keys in .gitdesk/keys/*.asc,
named by fingerprint in policy.yaml).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitdesk import gitio
from gitdesk.domain.config import Policy
from gitdesk.domain.keys import PublicKey, parse_key
from gitdesk.errors import GitdeskError

KEYS_DIR = ".gitdesk/keys"
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")  # a person id, as the schema has it


def _run(cmd: list[str], *, data: bytes | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        if data is None:  # nothing to feed: never let a tool wait on the user's terminal
            return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                  check=False, env={**os.environ, **(env or {})})
        return subprocess.run(cmd, input=data, capture_output=True, check=False,
                              env={**os.environ, **(env or {})})
    except FileNotFoundError as exc:
        raise GitdeskError(f"{cmd[0]} is not installed",
                           hint="install openssh-client (ssh-keygen) or gnupg (gpg)") from exc


@dataclass(frozen=True)
class SigningKey:
    format: str  # "ssh" or "openpgp"
    key: str

    @classmethod
    def from_git(cls, repo: gitio.Repo, committer_email: str) -> SigningKey | None:
        settings = gitio.config(repo)
        fmt = settings.get("gpg.format", "openpgp")
        key = settings.get("user.signingkey")
        if fmt == "ssh":
            return cls("ssh", key) if key else None
        if fmt == "openpgp":
            return cls("openpgp", key or committer_email)
        return None

    def sign(self, content: str) -> str:
        data = content.encode("utf-8")
        if self.format == "ssh":
            return _ssh_sign(self.key, data)
        proc = _run(["gpg", "--batch", "--no-tty", "--status-fd=2", "-bsau", self.key],
                    data=data)
        if proc.returncode != 0 or b"SIG_CREATED" not in proc.stderr:
            raise GitdeskError(f"gpg could not sign with key {self.key!r}: "
                               + proc.stderr.decode("utf-8", "replace").strip()[-300:],
                               hint="check `gpg --list-secret-keys` and git's user.signingkey")
        return proc.stdout.decode("ascii")


def _ssh_sign(key: str, data: bytes) -> str:
    with tempfile.TemporaryDirectory(prefix="gitdesk-sign-") as tmp:
        if key.startswith("key::"):
            key_file = Path(tmp) / "key.pub"
            key_file.write_text(key[5:] + "\n")
            path = str(key_file)
        else:
            path = os.path.expanduser(key)
        proc = _run(["ssh-keygen", "-Y", "sign", "-n", "git", "-f", path], data=data)
    if proc.returncode != 0:
        raise GitdeskError(f"ssh-keygen could not sign with {key!r}: "
                           + proc.stderr.decode("utf-8", "replace").strip()[-300:],
                           hint="user.signingkey must name your SSH private key file "
                                "(or a public key whose private key is in ssh-agent)")
    return proc.stdout.decode("ascii")


@dataclass(frozen=True)
class Verdict:
    """Who signed (a policy person id), or why the signature is not trusted."""

    person: str | None
    reason: str

    @property
    def trusted(self) -> bool:
        return self.person is not None


def verify(signature: str, data: bytes, policy: Policy,
           openpgp_keys: dict[str, bytes]) -> Verdict:
    """Check a detached signature against the keys the policy gives people."""
    if "BEGIN SSH SIGNATURE" in signature:
        return _ssh_verify(signature, data, policy)
    if "BEGIN PGP SIGNATURE" in signature:
        return _pgp_verify(signature, data, policy, openpgp_keys)
    return Verdict(None, "unknown signature format")


def policy_keys(policy: Policy) -> list[tuple[str, PublicKey]]:
    """(person, key) for every key of the policy that parses; a key that does not
    (which the policy's schema refuses) is left out, never passed on as text."""
    found = []
    for pid, person in policy.people.items():
        if not _PRINCIPAL.match(pid):
            continue
        for text in person.keys:
            try:
                found.append((pid, parse_key(text)))
            except ValueError:
                continue
    return found


def _ssh_verify(signature: str, data: bytes, policy: Policy) -> Verdict:
    signer = _sshsig_public_key(signature)
    if signer is None:
        return Verdict(None, "malformed SSH signature")
    owners = [(pid, key) for pid, key in policy_keys(policy) if key.is_ssh and key.blob == signer]
    if not owners:
        return Verdict(None, "signed with an SSH key that the policy gives nobody")
    people = sorted({pid for pid, _key in owners})
    if len(people) > 1:
        return Verdict(None, "signed with an SSH key that the policy gives to several people "
                             f"({', '.join(people)})")
    person, key = owners[0]
    with tempfile.TemporaryDirectory(prefix="gitdesk-verify-") as tmp:
        # built from the parsed parts: a principal the schema allows, a type, base64
        allowed = Path(tmp) / "allowed_signers"
        allowed.write_text(f'{person} namespaces="git" {key.type} {key.data}\n')
        sig = Path(tmp) / "commit.sig"
        sig.write_text(signature)
        proc = _run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", person,
                     "-n", "git", "-s", str(sig)], data=data)
    if proc.returncode != 0:
        return Verdict(None, "bad SSH signature: "
                       + proc.stderr.decode("utf-8", "replace").strip()[-200:])
    return Verdict(person, "good SSH signature")


def _sshsig_public_key(signature: str) -> bytes | None:
    """The signer's public key (SSH wire format) that an SSH signature carries."""
    body = signature.partition("-----BEGIN SSH SIGNATURE-----")[2]
    body = body.partition("-----END SSH SIGNATURE-----")[0]
    try:
        raw = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if raw[:6] != b"SSHSIG" or len(raw) < 14:
        return None
    size = int.from_bytes(raw[10:14], "big")
    key = raw[14:14 + size]
    return key if len(key) == size else None


# Status lines that make a signature untrusted whatever else gpg says: the key or the
# signature revoked or expired (as the armored key in .gitdesk/keys has it), a bad
# signature, a signature gpg could not check.
_PGP_REFUSE = {"REVKEYSIG": "the key is revoked", "KEYREVOKED": "the key is revoked",
               "EXPKEYSIG": "the key has expired", "KEYEXPIRED": "the key has expired",
               "EXPSIG": "the signature has expired", "SIGEXPIRED": "the signature has expired",
               "BADSIG": "bad signature", "ERRSIG": "gpg could not check it",
               "NO_PUBKEY": "gpg could not check it"}


def _pgp_verify(signature: str, data: bytes, policy: Policy,
                openpgp_keys: dict[str, bytes]) -> Verdict:
    holders: dict[str, set[str]] = {}
    for pid, key in policy_keys(policy):
        if not key.is_ssh:
            holders.setdefault(key.data, set()).add(pid)
    if not holders:
        return Verdict(None, "no OpenPGP keys in the policy")
    blobs = {name.removesuffix(".asc").upper(): blob for name, blob in openpgp_keys.items()}
    with tempfile.TemporaryDirectory(prefix="gitdesk-gpg-") as home:
        env = {"GNUPGHOME": home}
        os.chmod(home, 0o700)
        for fpr in holders:  # only the keys the policy names, each from its own file
            if fpr in blobs:
                _run(["gpg", "--batch", "--no-tty", "--quiet", "--import"], data=blobs[fpr],
                     env=env)
        sig = Path(home) / "commit.sig"
        sig.write_text(signature)
        content = Path(home) / "commit.data"
        content.write_bytes(data)
        proc = _run(["gpg", "--batch", "--no-tty", "--status-fd=1", "--trust-model", "always",
                     "--no-auto-key-retrieve", "--verify", str(sig), str(content)], env=env)
        _run(["gpgconf", "--kill", "all"], env=env)
    return _pgp_verdict(proc.returncode, proc.stdout.decode("utf-8", "replace"), holders)


def _pgp_verdict(returncode: int, status: str, holders: dict[str, set[str]]) -> Verdict:
    """A signature counts only with exactly one GOODSIG and VALIDSIG, by a key (its
    primary or a subkey) the policy names, and no status line that refuses it."""
    lines = [line.split()[1:] for line in status.splitlines()
             if line.startswith("[GNUPG:] ") and len(line.split()) > 1]
    refused = [_PGP_REFUSE[words[0]] for words in lines if words[0] in _PGP_REFUSE]
    good = [words for words in lines if words[0] == "GOODSIG"]
    valid = [words for words in lines if words[0] == "VALIDSIG" and len(words) >= 2]
    if refused:
        return Verdict(None, f"OpenPGP signature not trusted: {refused[0]}")
    if returncode != 0 or len(good) != 1 or len(valid) != 1 or len(good[0]) < 2:
        return Verdict(None, "bad or unknown OpenPGP signature (is the key in .gitdesk/keys/?)")
    signing = valid[0][1].upper()
    primary = valid[0][10].upper() if len(valid[0]) > 10 else signing
    if not signing.endswith(good[0][1].upper()):
        return Verdict(None, "inconsistent OpenPGP signature status")
    for fpr in (primary, signing):
        people = sorted(holders.get(fpr, ()))
        if len(people) > 1:
            return Verdict(None, "signed with an OpenPGP key that the policy gives to several "
                                 f"people ({', '.join(people)})")
        if people:
            return Verdict(people[0], "good OpenPGP signature")
    return Verdict(None, f"signed with OpenPGP key {signing} that the policy gives nobody")


def ssh_public_key(key: str) -> str | None:
    """`type base64` of an SSH signing key given as a path or key:: literal."""
    if key.startswith("key::"):
        text = key[5:]
    else:
        path = Path(os.path.expanduser(key))
        public = path if path.suffix == ".pub" else path.with_name(path.name + ".pub")
        if public.is_file():
            text = public.read_text()
        else:
            proc = _run(["ssh-keygen", "-y", "-f", str(path)])
            if proc.returncode != 0:
                return None
            text = proc.stdout.decode()
    parts = text.split()
    try:
        found = parse_key(" ".join(parts[:2]))
    except ValueError:
        return None
    return found.ident if found.is_ssh else None


def generate_ssh_key(private: Path, comment: str, owner: str) -> str:
    """Make an ed25519 key pair without a passphrase at `private`; its public key line."""
    try:
        proc = _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                     "-f", str(private)])
    except GitdeskError as exc:
        raise GitdeskError("making signing keys needs ssh-keygen",
                           hint="install openssh-client") from exc
    public = ssh_public_key(str(private)) if proc.returncode == 0 else None
    if public is None:
        said = proc.stderr.decode("utf-8", "replace").strip()
        raise GitdeskError(f"ssh-keygen could not make a key for {owner}: {said}")
    return public


def export_openpgp(key: str) -> tuple[str, bytes] | None:
    """(primary fingerprint, armored public key) of an OpenPGP key in the user's keyring."""
    listing = _run(["gpg", "--batch", "--with-colons", "--fingerprint", key])
    fingerprint = next((line.split(":")[9] for line in listing.stdout.decode().splitlines()
                        if line.startswith("fpr:")), None)
    if listing.returncode != 0 or not fingerprint:
        return None
    armored = _run(["gpg", "--batch", "--armor", "--export", fingerprint])
    if armored.returncode != 0 or not armored.stdout:
        return None
    return fingerprint.upper(), armored.stdout


@dataclass(frozen=True)
class OpenPGPKey:
    """A primary key an armored key block holds, and its state by that block alone."""

    fingerprint: str
    revoked: bool
    expired: bool


def openpgp_keys_in(armored: bytes) -> list[OpenPGPKey]:
    """The primary keys of an armored block (read in a keyring of its own, never the
    user's): what .gitdesk/keys/FPR.asc gives the verifier."""
    with tempfile.TemporaryDirectory(prefix="gitdesk-gpg-") as home:
        os.chmod(home, 0o700)
        env = {"GNUPGHOME": home}
        proc = _run(["gpg", "--batch", "--no-tty", "--with-colons", "--import-options",
                     "show-only", "--import"], data=armored, env=env)
        _run(["gpgconf", "--kill", "all"], env=env)
    found: list[OpenPGPKey] = []
    validity = ""
    expect_primary = False
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            validity, expect_primary = fields[1], True
        elif fields[0] == "fpr" and expect_primary and len(fields) > 9:
            found.append(OpenPGPKey(fields[9].upper(), "r" in validity, "e" in validity))
            expect_primary = False
        elif fields[0] == "sub":
            expect_primary = False
    return found
