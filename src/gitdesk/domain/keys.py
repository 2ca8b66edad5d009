"""Signing keys as a policy lists them, parsed: never trusted as raw text.

A key is an SSH public key `TYPE BASE64 [COMMENT]` (a known type whose key data
decodes and holds a key of that same type) or an OpenPGP fingerprint
`openpgp:FPR` (40 hex digits, the armored key in .gitdesk/keys/FPR.asc). No
control character is allowed anywhere: a line break in a "key" would add a line
to the allowed-signers file that the verifier gives ssh-keygen. The policy
schema's pattern says the same for other tools; this module also checks the
structure of the key data.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from gitdesk.domain.config import Policy

OPENPGP_PREFIX = "openpgp:"
OPENPGP = "openpgp"
# type -> the fields of its key data after the type: "bytes:N" exactly N bytes,
# "is:TEXT" exactly TEXT, "point:N" an uncompressed EC point of N bytes, "mpint" a
# positive integer, "text" any non-empty string (a security key's application)
SSH_TYPES: dict[str, tuple[str, ...]] = {
    "ssh-ed25519": ("bytes:32",),
    "ssh-rsa": ("mpint", "mpint"),
    "ecdsa-sha2-nistp256": ("is:nistp256", "point:65"),
    "ecdsa-sha2-nistp384": ("is:nistp384", "point:97"),
    "ecdsa-sha2-nistp521": ("is:nistp521", "point:133"),
    "sk-ssh-ed25519@openssh.com": ("bytes:32", "text"),
    "sk-ecdsa-sha2-nistp256@openssh.com": ("is:nistp256", "point:65", "text"),
}
RSA_MIN_BITS = 1024  # what ssh-keygen itself accepts
# C0 and C1 controls, DEL, line and paragraph separators, bidirectional overrides
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
FORMS = "an SSH public key (TYPE BASE64 [COMMENT]) or openpgp:FINGERPRINT (40 hex digits)"


@dataclass(frozen=True)
class PublicKey:
    """A parsed key: an SSH key type and its key data (base64), or `openpgp` and the
    fingerprint (40 upper-case hex digits)."""

    type: str
    data: str
    comment: str = ""

    @property
    def is_ssh(self) -> bool:
        return self.type != OPENPGP

    @property
    def fingerprint(self) -> str | None:
        return None if self.is_ssh else self.data

    @property
    def ident(self) -> str:
        """The key itself, without its comment: two keys are the same if this is."""
        return f"{self.type} {self.data}" if self.is_ssh else f"{OPENPGP_PREFIX}{self.data}"

    @property
    def blob(self) -> bytes:
        return base64.b64decode(self.data) if self.is_ssh else b""

    def __str__(self) -> str:
        return f"{self.ident} {self.comment}" if self.comment else self.ident


def parse_key(text: str, *, lenient: bool = False) -> PublicKey:
    """The key `text` names, or ValueError saying what is wrong with it.

    Strict (the policy's stored form, as its schema has it): single spaces between
    the parts, upper-case fingerprints. Lenient (what a person types or pastes):
    surrounding white space, runs of spaces and grouped or lower-case fingerprints
    are fine; a control character inside the text is never fine."""
    if lenient:
        text = text.strip(" \t\r\n")
    bad = CONTROL.search(text)
    if bad is not None:
        what = "a line break" if bad.group() in "\r\n\u2028\u2029" else "a control character"
        raise ValueError(f"contains {what} (U+{ord(bad.group()):04X}): a key is one line of "
                         "printable text")
    if text[:len(OPENPGP_PREFIX)].lower() == OPENPGP_PREFIX:
        return _openpgp(text[len(OPENPGP_PREFIX):], lenient)
    parts = (re.split(" +", text, maxsplit=2) if lenient else text.split(" ", 2))
    if parts[0] not in SSH_TYPES:
        known = ", ".join(SSH_TYPES)
        if len(parts) >= 2 and parts[0].isascii() and parts[0].replace("-", "").isalnum():
            raise ValueError(f"unknown key type {parts[0]!r} (known: {known})")
        raise ValueError(f"is not {FORMS}")
    if len(parts) < 2 or not parts[1]:
        raise ValueError(f"{parts[0]} key without its key data (BASE64)")
    comment = parts[2] if len(parts) == 3 else ""
    if lenient:
        comment = comment.strip(" ")
    elif len(parts) == 3 and (not comment or comment.startswith(" ")):
        raise ValueError("more than one space before the comment")
    blob = _decode(parts[1])
    _check_blob(parts[0], blob)
    return PublicKey(parts[0], base64.b64encode(blob).decode("ascii"), comment)


def _openpgp(rest: str, lenient: bool) -> PublicKey:
    fingerprint = rest.replace(" ", "").upper() if lenient else rest
    if not re.fullmatch("[0-9A-F]{40}", fingerprint):
        raise ValueError("an OpenPGP key is openpgp: and its fingerprint, 40 hex digits "
                         "(`gpg --fingerprint` shows it)")
    return PublicKey(OPENPGP, fingerprint)


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("its key data is not base64") from None


def _strings(blob: bytes) -> list[bytes]:
    """The SSH wire format: each field a 32-bit length and that many bytes."""
    fields, i = [], 0
    while i < len(blob):
        if i + 4 > len(blob):
            raise ValueError("its key data is cut short")
        size = int.from_bytes(blob[i:i + 4], "big")
        if i + 4 + size > len(blob):
            raise ValueError("its key data is cut short")
        fields.append(blob[i + 4:i + 4 + size])
        i += 4 + size
    return fields


def _check_blob(key_type: str, blob: bytes) -> None:
    fields = _strings(blob)
    inner = fields[0].decode("ascii", "replace") if fields else ""
    if inner != key_type:
        raise ValueError(f"says {key_type} but its key data holds a "
                         f"{inner or 'malformed'} key")
    spec = SSH_TYPES[key_type]
    if len(fields) - 1 != len(spec):
        raise ValueError(f"its key data is not a {key_type} key (wrong number of fields)")
    for value, field in zip(fields[1:], spec, strict=True):
        if not _field_ok(value, field):
            raise ValueError(f"its key data is not a valid {key_type} key")
    if key_type == "ssh-rsa" and int.from_bytes(fields[2], "big").bit_length() < RSA_MIN_BITS:
        raise ValueError(f"an RSA key needs at least {RSA_MIN_BITS} bits")


def _field_ok(value: bytes, field: str) -> bool:
    kind, _, arg = field.partition(":")
    if kind == "bytes":
        return len(value) == int(arg)
    if kind == "is":
        return value == arg.encode()
    if kind == "point":
        return len(value) == int(arg) and value[:1] == b"\x04"
    if kind == "mpint":  # positive and without a superfluous leading zero
        return bool(value) and not value[0] & 0x80 and \
            not (value[0] == 0 and (len(value) == 1 or not value[1] & 0x80))
    return bool(value)


def admins_with_keys(policy: Policy) -> list[str]:
    """The admins who have a key. Until one has, changes to .gitdesk/ are trusted on
    first use (the verifier's rule): the desk is unprotected."""
    return [a for a in policy.admins if a in policy.people and policy.people[a].keys]
