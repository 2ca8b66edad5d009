"""A ticket file as plain data: the fast reader when the file is in gitdesk's own
layout, else the round-trip parser."""

from __future__ import annotations

from typing import Any

from gitdesk.domain.model import plain
from gitdesk.errors import GitdeskError
from gitdesk.yaml import reader as fastyaml
from gitdesk.yaml import roundtrip as yamlio


def parse_blob(data: bytes, path: str, memo: fastyaml.Memo | None = None
               ) -> dict[str, Any] | None:
    """A ticket version as plain data: the fast reader, else the full parser. With
    a memo, values are shared with other versions (see fastyaml.loads_shared)."""
    if len(data) > yamlio.MAX_BYTES:
        return None
    try:
        text_value = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fast = fastyaml.loads(text_value) if memo is None else \
        fastyaml.loads_shared(text_value, memo)
    if fast is not None:
        return fast
    try:
        loaded = plain(yamlio.load(text_value, path))
    except GitdeskError:
        return None
    return loaded if isinstance(loaded, dict) else None
