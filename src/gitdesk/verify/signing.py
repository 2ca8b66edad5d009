"""Sign commits and verify commit signatures (ssh-keygen and gpg).

Signing follows git's configuration (`gpg.format`, `user.signingkey`), so a
commit gitdesk signs passes `git verify-commit` for anyone whose git trusts
the key. Verification does not trust the user's keyring or git's allowed
signers: the keys come from the desk's own policy as of the parent commit
(SSH public keys in policy.yaml; OpenPGP public keys in .gitdesk/keys/*.asc,
named by fingerprint in policy.yaml).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gitdesk import gitio
from gitdesk.domain.config import Policy
from gitdesk.errors import GitdeskError

KEYS_DIR = ".gitdesk/keys"
_FPR = re.compile(r"^(?:openpgp:)?([0-9A-Fa-f]{40})$")
SSH_PREFIXES = ("ssh-", "ecdsa-", "sk-ssh-", "sk-ecdsa-")


def is_ssh_key(key: str) -> bool:
    return key.startswith(SSH_PREFIXES)


def openpgp_fingerprint(key: str) -> str | None:
    match = _FPR.match(key.strip().replace(" ", ""))
    return match.group(1).upper() if match else None


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


def _ssh_verify(signature: str, data: bytes, policy: Policy) -> Verdict:
    lines = [f'{pid} namespaces="git" {key}' for pid, person in policy.people.items()
             for key in person.keys if is_ssh_key(key)]
    if not lines:
        return Verdict(None, "no SSH keys in the policy")
    with tempfile.TemporaryDirectory(prefix="gitdesk-verify-") as tmp:
        allowed = Path(tmp) / "allowed_signers"
        allowed.write_text("\n".join(lines) + "\n")
        sig = Path(tmp) / "commit.sig"
        sig.write_text(signature)
        found = _run(["ssh-keygen", "-Y", "find-principals", "-f", str(allowed), "-s", str(sig)])
        principals = found.stdout.decode("utf-8", "replace").split()
        if found.returncode != 0 or not principals:
            return Verdict(None, "signed with an SSH key that the policy gives nobody")
        person = principals[0]
        proc = _run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", person,
                     "-n", "git", "-s", str(sig)], data=data)
    if proc.returncode != 0:
        return Verdict(None, "bad SSH signature: "
                       + proc.stderr.decode("utf-8", "replace").strip()[-200:])
    return Verdict(person, "good SSH signature")


def _pgp_verify(signature: str, data: bytes, policy: Policy,
                openpgp_keys: dict[str, bytes]) -> Verdict:
    owners = {fpr: pid for pid, person in policy.people.items() for key in person.keys
              if (fpr := openpgp_fingerprint(key))}
    if not owners:
        return Verdict(None, "no OpenPGP keys in the policy")
    with tempfile.TemporaryDirectory(prefix="gitdesk-gpg-") as home:
        env = {"GNUPGHOME": home}
        os.chmod(home, 0o700)
        for blob in openpgp_keys.values():
            _run(["gpg", "--batch", "--no-tty", "--quiet", "--import"], data=blob, env=env)
        sig = Path(home) / "commit.sig"
        sig.write_text(signature)
        content = Path(home) / "commit.data"
        content.write_bytes(data)
        proc = _run(["gpg", "--batch", "--no-tty", "--status-fd=1", "--trust-model", "always",
                     "--verify", str(sig), str(content)], env=env)
        _run(["gpgconf", "--kill", "all"], env=env)
    status = proc.stdout.decode("utf-8", "replace")
    match = re.search(r"^\[GNUPG:\] VALIDSIG (\S+)(?: \S+){8} (\S+)", status, re.MULTILINE)
    if proc.returncode != 0 or match is None:
        return Verdict(None, "bad or unknown OpenPGP signature (is the key in .gitdesk/keys/?)")
    for fpr in (match.group(2).upper(), match.group(1).upper()):
        if fpr in owners:
            return Verdict(owners[fpr], "good OpenPGP signature")
    return Verdict(None, f"signed with OpenPGP key {match.group(1)} that the policy gives nobody")


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
    return f"{parts[0]} {parts[1]}" if len(parts) >= 2 and is_ssh_key(parts[0]) else None


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
