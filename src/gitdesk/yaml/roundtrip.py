"""YAML in round-trip mode: comments and hand edits survive a gitdesk write.

Timestamps stay strings (ISO 8601 text, as written), so that a ticket reads
back exactly as it was written and the schema sees one type for times.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer as RoundTripComposer
from ruamel.yaml.composer import ComposerError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import LiteralScalarString, SingleQuotedScalarString

from gitdesk.domain.model import Flow, Text, Ticket
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


# No desk file is read past these bounds: a few kilobytes of YAML can otherwise ask
# for gigabytes (anchors and aliases) or minutes (a file of tens of megabytes).
MAX_BYTES = 1 << 20  # yaml.ticket.MAX_BYTES too
MAX_DEPTH = 32


class _NoAliasComposer(RoundTripComposer):
    """Desk files are data a person or gitdesk wrote line by line: an anchor or an
    alias in one is refused (an alias bomb would expand without bound)."""

    def compose_document(self: Any) -> Any:
        self.depth = 0  # a load that failed half-way must not count against the next
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(None, None, "anchors and aliases (&name, *name) are not "
                                "allowed in desk files", event.start_mark)
        return super().compose_node(parent, index)


def _make_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Composer = _NoAliasComposer
    yaml.max_depth = MAX_DEPTH
    yaml.Representer = _Representer
    yaml.Resolver = _NoTimestampResolver
    yaml.width = 1 << 20  # one note, one line: never fold long text
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.allow_duplicate_keys = False
    return yaml


_YAML = _make_yaml()


def load(data: bytes | str, path: str) -> Any:
    """Parse YAML text; errors name the file and line. Files over MAX_BYTES, anchors,
    aliases and nesting deeper than MAX_DEPTH are refused."""
    if len(data) > MAX_BYTES:
        raise InvalidFile(path, [f"{len(data):,} bytes: desk files are read up to "
                                 f"{MAX_BYTES:,} bytes"])
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
        if "maximum depth" in problem:
            problem = f"nested deeper than {MAX_DEPTH} levels"
        raise InvalidFile(path, [f"{where}{problem}"]) from exc
    except YAMLError as exc:
        raise InvalidFile(path, [f"does not parse: {exc}"]) from exc


def dump(data: Any) -> bytes:
    """YAML text of round-trip data, or of plain data whose values say their style by
    type (`Flow`, `Text`; see domain.model)."""
    out = io.StringIO()
    _YAML.dump(_styled(data), out)
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


def locate(root: Any, key_path: tuple[str | int, ...]) -> int | None:
    """The line of the deepest key of key_path that the file has."""
    node, line = root, None
    for key in key_path:
        found = line_of(node, key)
        if found is None:
            break
        line = found
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return line


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




def _styled(value: Any, *, in_flow: bool = False) -> Any:
    """Round-trip data for the codec: plain values in the style their type asks for
    (`Flow` on one line, `Text` as a literal block, other mappings and lists as
    blocks); round-trip nodes keep theirs, their new children are styled in place."""
    if isinstance(value, CommentedMap):
        flow = bool(value.fa.flow_style())
        for key, item in value.items():
            styled = _styled(item, in_flow=flow)
            if styled is not item:
                value[key] = styled
        return value
    if isinstance(value, CommentedSeq):
        for i, item in enumerate(value):
            styled = _styled(item)
            if styled is not item:
                value[i] = styled
        return value
    if isinstance(value, Flow):
        return flow_map({k: _styled(v, in_flow=True) for k, v in value.items()})
    if isinstance(value, dict):
        return block_map({k: _styled(v) for k, v in value.items()})
    if isinstance(value, list):
        return seq([_styled(v, in_flow=in_flow) for v in value])
    if isinstance(value, Text):
        return block_text(str(value))
    if in_flow and type(value) is str:
        return flow_value(value)
    return value


def to_roundtrip(value: Any) -> Any:
    """Emitter data as ruamel round-trip data (what dump takes)."""
    if isinstance(value, Flow):
        return flow_map({k: to_roundtrip(v) for k, v in value.items()})
    if isinstance(value, dict):
        return block_map({k: to_roundtrip(v) for k, v in value.items()})
    if isinstance(value, list):
        return seq([to_roundtrip(v) for v in value])
    return value


def from_roundtrip(value: Any) -> Any:
    """Round-trip data (as load gives it) as emitter data."""
    if isinstance(value, CommentedMap):
        items = {str(k): from_roundtrip(v) for k, v in value.items()}
        return Flow(items) if value.fa.flow_style() else items
    if isinstance(value, dict):
        return {str(k): from_roundtrip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_roundtrip(v) for v in value]
    return value


def sync_roundtrip(ticket: Ticket, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Apply the change old -> new to a round-trip ticket (comments and styles survive)."""
    for key in old:
        if key not in new:
            ticket.unset(key)
    for key, value in new.items():
        if key in old and old[key] == value:
            continue
        current = ticket.get(key)
        if key == "fields" and isinstance(current, dict) and isinstance(value, dict):
            for sub in [k for k in current if k not in value]:
                del current[sub]
            for sub, item in value.items():
                if current.get(sub) != item or sub not in current:
                    current[sub] = item
            continue
        ticket.set(key, to_roundtrip(value))
