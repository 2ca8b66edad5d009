"""YAML in round-trip mode: comments and hand edits survive a gitdesk write.

Timestamps stay strings (ISO 8601 text, as written), so that a ticket reads
back exactly as it was written and the schema sees one type for times.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import LiteralScalarString, SingleQuotedScalarString

from gitdesk.errors import InvalidFile

TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _NoTimestampResolver(VersionedResolver):
    @property
    def versioned_resolver(self) -> Any:
        table = super().versioned_resolver
        cache = self.__dict__.setdefault("_tables", {})
        key = id(table)
        if key not in cache:
            cache[key] = {ch: [(tag, rx) for tag, rx in rules if tag != TIMESTAMP_TAG]
                          for ch, rules in table.items()}
        return cache[key]


class _Representer(RoundTripRepresenter):
    """Strings with characters that YAML folds in quoted or plain style (NEL, line and
    paragraph separators) are written double-quoted, where they are escaped."""

    def represent_str(self, data: str) -> Any:
        if any(ch in data for ch in _FOLDED):
            return self.represent_scalar("tag:yaml.org,2002:str", data, style='"')
        return super().represent_str(data)


_FOLDED = "\x85\u2028\u2029"
_Representer.add_representer(str, _Representer.represent_str)


def _make_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Representer = _Representer
    yaml.Resolver = _NoTimestampResolver
    yaml.width = 1 << 20  # one note, one line: never fold long text
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.allow_duplicate_keys = False
    return yaml


_YAML = _make_yaml()


def load(data: bytes | str, path: str) -> Any:
    """Parse YAML text; errors name the file and line."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise InvalidFile(path, [f"not UTF-8 text (byte {exc.start})"]) from exc
    try:
        return _YAML.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "does not parse"
        raise InvalidFile(path, [f"{where}{problem}"]) from exc
    except YAMLError as exc:
        raise InvalidFile(path, [f"does not parse: {exc}"]) from exc


def dump(data: Any) -> bytes:
    out = io.StringIO()
    _YAML.dump(data, out)
    return out.getvalue().encode("utf-8")


def line_of(node: Any, key: str | int) -> int | None:
    """1-based line of a key in a round-trip mapping (or item of a sequence)."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        pos = lc.key(key) if isinstance(node, CommentedMap) else lc.item(key)
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return int(pos[0]) + 1 if pos else None


def block_text(text: str) -> str:
    """Multi-line text as a literal block when that round-trips exactly."""
    if "\n" not in text or not _literal_safe(text):
        return text
    literal: str = LiteralScalarString(text)
    return literal


def _literal_safe(text: str) -> bool:
    if text != text.strip(" \t") or text.startswith("\n") or text.endswith("\n"):
        return False
    for line in text.split("\n"):
        if line != line.rstrip(" \t"):
            return False
    # only plain printable characters and tabs inside lines
    return all((ch.isprintable() and ch not in "\u2028\u2029\ufeff") or ch in "\n\t"
               for ch in text) and "\t" not in text


def replace(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set an existing key to a new value in place. Plain assignment would keep the
    old value's quoting style (ruamel.yaml wraps the new text in it), which cannot
    represent every text; a fresh entry lets the representer choose."""
    position = list(mapping.keys()).index(key)
    del mapping[key]
    mapping.insert(position, key, value)


def flow_map(items: dict[str, Any]) -> CommentedMap:
    # ruamel.yaml writes a leading "?" or ":" unquoted inside flow style, which it
    # then cannot read back; quoting such values keeps every text a round trip.
    m = CommentedMap({k: flow_value(v) for k, v in items.items()})
    m.fa.set_flow_style()
    return m


def flow_value(value: Any) -> Any:
    """A value as it may be stored inside a flow mapping."""
    if isinstance(value, str) and value[:1] in ("?", ":") and not any(
            ch in value for ch in _FOLDED):
        return SingleQuotedScalarString(value)
    return value


def block_map(items: dict[str, Any] | None = None) -> CommentedMap:
    return CommentedMap(items or {})


def seq(items: list[Any] | None = None) -> CommentedSeq:
    return CommentedSeq(items or [])


def plain(value: Any) -> Any:
    """A deep copy of round-trip data as plain dicts, lists and scalars."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value
