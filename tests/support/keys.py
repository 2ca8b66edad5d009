"""Helpers for the key tests: the policy schema's key pattern as code, OpenPGP keys that
are revoked or expired, plain-git policy edits and approvals signed with a chosen
gpg (faked time), a git identity that is not set at all."""

from __future__ import annotations

import base64
import os
import struct
import subprocess
from pathlib import Path
from typing import Any

from gitdesk.yaml import roundtrip as yamlio

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
B64 = "[A-Za-z0-9+/]"
CONTROL_CLASS = r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]"


def type_prefix(key_type: str) -> str:
    """The base64 that every key of this type starts with (its key data begins with
    the type as an SSH string), then enough characters to end a 4-character group."""
    raw = struct.pack(">I", len(key_type)) + key_type.encode()
    encoded = base64.b64encode(raw).decode().rstrip("=")
    whole, spare = divmod(len(raw) * 8, 6)
    out, length = encoded[:whole], whole
    if spare:  # the next character holds the last bits of the type and the first of the rest
        first = ALPHABET.index(encoded[whole])
        out += "[" + ALPHABET[first:first + 2 ** (6 - spare)] + "]"
        length += 1
    fill = (-length) % 4
    return out + (f"{B64}{{{fill}}}" if fill else "")


def key_pattern() -> str:
    """What the policy schema's `$defs.key.pattern` must be."""
    from gitdesk.domain.keys import SSH_TYPES

    types = "|".join(f"{t.replace('.', chr(92) + '.')} {type_prefix(t)}" for t in SSH_TYPES)
    ssh = f"(?:{types})(?:{B64}{{4}})*(?:{B64}{{2}}==|{B64}{{3}}=)?(?: [^ ].*)?"
    return f"^(?![\\s\\S]*{CONTROL_CLASS})(?:{ssh}|openpgp:[0-9A-F]{{40}})$"


def wire_key(key_type: str, *fields: bytes) -> str:
    """`TYPE BASE64` of hand-made key data: the type, then each field, as SSH strings."""
    blob = b"".join(struct.pack(">I", len(f)) + f for f in (key_type.encode(), *fields))
    return f"{key_type} {base64.b64encode(blob).decode()}"


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, cwd=cwd, input=input,
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stdout}\n" \
                                 f"{proc.stderr}"
    return proc


def fingerprint(gnupghome: Path, who: str) -> str:
    listing = run(["gpg", "--batch", "--with-colons", "--fingerprint", who],
                  env={"GNUPGHOME": str(gnupghome)}).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def expiring_key(gnupghome: Path, person: str, created: str) -> str:
    """An ed25519 key made at `created` (gpg's faked time, e.g. 20240101T000000) that
    expired a day later; returns its fingerprint."""
    run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
         "--faked-system-time", f"{created}!", "--quick-gen-key",
         f"{person.capitalize()} <{person}@example.org>", "ed25519", "sign", "1d"],
        env={"GNUPGHOME": str(gnupghome)})
    return fingerprint(gnupghome, f"<{person}@example.org>")


def revoked_export(gnupghome: Path, fpr: str, scratch: Path) -> str:
    """The armored public key with the revocation certificate gpg made with it merged in
    (the way an owner publishes a revocation), made in a keyring of its own: the
    owner's keyring keeps the key unrevoked, so it can still sign."""
    revocation = (gnupghome / "openpgp-revocs.d" / f"{fpr}.rev").read_text()
    revocation = revocation.replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----",
                                    "-----BEGIN PGP PUBLIC KEY BLOCK-----")
    scratch.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(scratch)}
    public = run(["gpg", "--batch", "--armor", "--export", fpr],
                 env={"GNUPGHOME": str(gnupghome)}).stdout
    run(["gpg", "--batch", "--import"], env=env, input=public)
    run(["gpg", "--batch", "--import"], env=env, input=revocation)
    armored = run(["gpg", "--batch", "--armor", "--export", fpr], env=env).stdout
    subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, **env}, check=False,
                   capture_output=True)
    return armored


def faked_gpg(directory: Path, when: str) -> Path:
    """A gpg.program for git that signs as if it were `when`."""
    script = directory / "gpg-at-time"
    script.write_text(f'#!/bin/sh\nexec gpg --faked-system-time "{when}!" "$@"\n')
    script.chmod(0o755)
    return script


def set_keys(person: str, keys: list[str]) -> Any:
    """A policy edit (for edit_yaml): `person`'s keys become `keys`, written as given."""

    def change(policy: Any) -> None:
        policy["people"][person]["keys"] = yamlio.seq(keys)

    return change


def no_identity_env(base: Path) -> dict[str, str]:
    """git configuration without user.name/user.email, and git told not to guess them
    from the host name."""
    config = base / "no-identity.gitconfig"
    config.write_text("[user]\n\tuseConfigOnly = true\n[init]\n\tdefaultBranch = main\n")
    return {"GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1"}
