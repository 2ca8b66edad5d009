"""A ticket file as plain data: the fast reader when the file is in gitdesk's own
layout, else the round-trip parser."""

from __future__ import annotations

from typing import Any

from gitdesk.domain.model import plain
from gitdesk.errors import GitdeskError
from gitdesk.yaml import reader as fastyaml

MAX_BYTES = 1 << 20  # as roundtrip.MAX_BYTES: no desk file is read past it


def parse_blob(data: bytes, path: str, memo: fastyaml.Memo | None = None
               ) -> dict[str, Any] | None:
    """A ticket version as plain data: the fast reader, else the full parser. With
    a memo, values are shared with other versions (see fastyaml.loads_shared)."""
    if len(data) > MAX_BYTES:
        return None
    try:
        text_value = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fast = fastyaml.loads(text_value) if memo is None else \
        fastyaml.loads_shared(text_value, memo)
    if fast is not None:
        return fast
    from gitdesk.yaml import roundtrip  # files not in gitdesk's layout only (start-up)

    try:
        loaded = plain(roundtrip.load(text_value, path))
    except GitdeskError:
        return None
    return loaded if isinstance(loaded, dict) else None
