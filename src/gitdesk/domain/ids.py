"""Ticket IDs: <PREFIX>-<8 Crockford base32 characters> from a ULID's random part."""

from __future__ import annotations

import os
import re
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_LEN = 8
MIN_PREFIX = 4
ID_RE = re.compile(r"^([A-Z][A-Z0-9]{0,9})-([0-9A-HJKMNP-TV-Z]{8})$")
QUERY_RE = re.compile(r"^(?:([A-Za-z][A-Za-z0-9]{0,9})-)?([0-9A-Za-z]{4,8})$")
_NORMALISE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def ulid(now_ms: int | None = None) -> str:
    """A ULID: 48-bit millisecond time then 80 random bits, Crockford base32."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(CROCKFORD[rem])
    return "".join(reversed(chars))


def ticket_id(prefix: str, uid: str) -> str:
    return f"{prefix}-{uid[10:10 + RANDOM_LEN]}"


def shard(ticket: str) -> str:
    return ticket.partition("-")[2][:2]


def parse_query(text: str) -> tuple[str | None, str]:
    """Split a user's ID or prefix into (type prefix or None, random part).

    Raises ValueError with the reason when the text cannot be an ID.
    """
    match = QUERY_RE.match(text.strip())
    if not match:
        raise ValueError(
            f"{text!r} is not a ticket ID (expected e.g. INC-7Q2K9XDM, or a unique "
            f"prefix like INC-7Q2K of at least {MIN_PREFIX} characters after the dash)")
    prefix = match.group(1).upper() if match.group(1) else None
    rest = match.group(2).upper().translate(_NORMALISE)
    return prefix, rest
