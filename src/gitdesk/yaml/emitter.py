"""A fast ticket emitter: the canonical ticket layout, byte for byte as the
round-trip codec (roundtrip.dump) writes it, without ruamel's per-document cost.

It handles the shapes tickets have: a top-level block mapping of scalars, flow
mappings (`Flow`, e.g. submitter), block mappings of scalars (`fields`) and
lists of scalars or flow mappings (links, notes). Each distinct scalar is
rendered once by ruamel itself (an oracle, cached), so quoting and escaping are
ruamel's; anything else (multi-line `Text`, nested structures, floats) makes
`dump` return None and the caller falls back to roundtrip.dump. The bulk
writer of an import (store.batch) streams what it writes.

`to_roundtrip` and `from_roundtrip` convert between the emitter's plain data
and round-trip data; `sync_roundtrip` applies a plain change to a ticket read
in round-trip mode, so that a hand-edited file keeps its comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gitdesk.domain.model import Flow, Text, plain
from gitdesk.errors import GitdeskError


class TicketEmitter:
    """Canonical ticket YAML, byte-identical to roundtrip.dump for the shapes it knows."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, type, Any], str | None] = {}

    def dump(self, data: Mapping[str, Any]) -> bytes | None:
        """The YAML text of a ticket mapping, or None when roundtrip.dump must do it."""
        out: list[str] = []
        for key, value in data.items():
            name = self._render("key", key)
            if name is None:
                return None
            if isinstance(value, Flow):
                flow = self._flow(value)
                if flow is None:
                    return None
                out.append(f"{name}: {flow}\n")
            elif isinstance(value, dict):
                if not value:
                    out.append(f"{name}: {{}}\n")
                    continue
                out.append(f"{name}:\n")
                for sub_key, sub_value in value.items():
                    sub_name = self._render("key", sub_key)
                    text = self._render("block", sub_value)
                    if sub_name is None or text is None:
                        return None
                    out.append(f"  {sub_name}: {text}\n")
            elif isinstance(value, list):
                if not value:
                    out.append(f"{name}: []\n")
                    continue
                out.append(f"{name}:\n")
                for item in value:
                    text = self._flow(item) if isinstance(item, Flow) \
                        else self._render("item", item)
                    if text is None:
                        return None
                    out.append(f"  - {text}\n")
            else:
                text = self._render("block", value)
                if text is None:
                    return None
                out.append(f"{name}: {text}\n")
        return "".join(out).encode("utf-8")

    def _flow(self, value: Any) -> str | None:
        if not isinstance(value, Flow):
            return None
        parts = []
        for key, item in value.items():
            name = self._render("fkey", key)
            text = self._render("flow", item)
            if name is None or text is None:
                return None
            parts.append(f"{name}: {text}")
        return "{" + ", ".join(parts) + "}"

    def _render(self, context: str, value: Any) -> str | None:
        if not isinstance(value, (str, int)):  # bool is an int; floats go to ruamel
            return None
        if type(value) is Text:
            if "\n" in value:
                return None  # a literal block: the codec writes it
            value = str(value)  # one line of Text is written as the text it is
        key = (context, type(value), value)
        try:
            return self._cache[key]
        except KeyError:
            pass
        if type(value) is str and _plain(value):
            text: str | None = value
        elif type(value) is bool and context != "key":
            text = "true" if value else "false"
        elif type(value) is int and context != "key":
            text = str(value)
        else:
            text = _oracle(context, value)
        self._cache[key] = text
        return text


_PLAIN = re.compile(r"[A-Za-z](?:[A-Za-z0-9 ._/@+-]*[A-Za-z0-9])?"
                    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_WORDS = frozenset(("true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf"))


# A ticket's uid (a ULID): 26 Crockford characters, two digits first, some letter that
# is not E: no YAML number or word can read like that.
_ULID = re.compile(r"[0-9]{2}[0-9A-HJKMNP-TV-Z]{24}")


def _plain(text: str) -> bool:
    """Text that ruamel writes as it is in every context (a shortcut past the oracle):
    a letter, then letters, digits, spaces and ._/@+- ending in a letter or digit,
    not a YAML 1.1/1.2 boolean or null word; or an ISO 8601 UTC time. The test
    suite checks the shortcut against ruamel on many generated strings."""
    if _ULID.fullmatch(text) is not None:
        return any(ch.isalpha() and ch != "E" for ch in text)
    return _PLAIN.fullmatch(text) is not None and text.lower() not in _WORDS


# context -> (a document holding the scalar, the text before it, the text after it)
_PROBES: dict[str, tuple[Any, str, str]] = {
    "key": (lambda v: {v: 0}, "", ": 0\n"),
    "fkey": (lambda v: {"k": Flow({v: 0})}, "k: {", ": 0}\n"),
    "block": (lambda v: {"k": v}, "k: ", "\n"),
    "flow": (lambda v: {"k": Flow(a=v)}, "k: {a: ", "}\n"),
    "item": (lambda v: {"k": [v]}, "k:\n  - ", "\n"),
}


def _oracle(context: str, value: Any) -> str | None:
    """How ruamel writes this scalar in this context (None: not on one line, or not
    in a form that reads back as the same value, which ruamel does for a few flow
    keys such as ':x')."""
    if context in ("key", "fkey") and not isinstance(value, str):
        return None
    # ruamel is loaded only here, for a scalar the shortcut does not cover: the merge
    # driver writes most tickets without it (start-up)
    from gitdesk.yaml import roundtrip as yamlio

    make, prefix, suffix = _PROBES[context]
    probe = make(value)
    out = yamlio.dump(probe).decode("utf-8")
    if len(out) <= len(prefix) + len(suffix) or not out.startswith(prefix) \
            or not out.endswith(suffix):
        return None
    text: str = out[len(prefix):len(out) - len(suffix)]
    if "\n" in text:
        return None
    try:
        back = plain(yamlio.load(out, "(probe)"))
    except GitdeskError:
        return None
    return text if back == plain(probe) else None


_EMITTER = TicketEmitter()


def dump_ticket(data: Mapping[str, Any]) -> bytes:
    """A ticket's file in the canonical layout: the emitter where it can, else the
    round-trip codec (the same bytes either way)."""
    fast = _EMITTER.dump(data)
    if fast is not None:
        return fast
    from gitdesk.yaml import roundtrip  # multi-line text and nested values (start-up)

    return roundtrip.dump(data)
