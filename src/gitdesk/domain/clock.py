"""Times and identities as the desk records them: ISO 8601 in UTC, git's identities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone


@dataclass(frozen=True)
class Identity:
    """An author or committer as git records one: name, email, time and offset."""

    name: str
    email: str
    time: int
    offset: int  # minutes east of UTC


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ident_time(ident: Identity) -> datetime:
    tz = timezone(timedelta(minutes=ident.offset))
    return datetime.fromtimestamp(ident.time, tz)
