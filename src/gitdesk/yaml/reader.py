"""A fast reader for the YAML layout gitdesk writes, for the index's hot loop.

gitdesk writes tickets in one narrow style (block mapping at the top, flow
mappings and sequences on one line, block sequences of those, literal
blocks). This reader parses exactly that style with plain string work and
returns None for anything else (comments, anchors, tags, multi-line flow,
unusual escapes): the caller then uses the full round-trip parser. Property
tests check that whenever it answers, it answers what ruamel.yaml does.
"""

from __future__ import annotations

import re
from typing import Any

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*):(?: (.*))?$")
_INT = re.compile(r"^[-+]?[0-9]+$")
# YAML 1.2 floats exactly as ruamel.yaml resolves them (".5e3" stays a string there).
_FLOAT = re.compile(r"^(?:[-+]?[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
                    r"|[-+]?\.[0-9]+(?:[eE][-+][0-9]+)?)$")
_DUBIOUS = re.compile(r"^(?:[-+]?0[0-9_]+$|[-+]?0[box]|[-+]?\.(?:inf|nan)$"
                      r"|[-+]?[0-9][0-9_]*:[0-9])", re.IGNORECASE)
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "0": "\0", "/": "/",
            "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v", " ": " ",
            "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}


class _Unsure(Exception):
    """The text is outside the narrow style: use the full parser."""


def loads(text: str) -> dict[str, Any] | None:
    try:
        return _document(text, None)
    except (_Unsure, IndexError, ValueError):
        return None


class Memo:
    """Parsed lines by their text: (key, value) of top-level `key: value` lines,
    the items of block-sequence lines, (key, value) of one-line flow mapping items."""

    LIMIT = 300_000

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, Any]] = {}
        self.items: dict[str, Any] = {}
        self.pairs: dict[str, tuple[str, Any]] = {}

    def trim(self) -> None:
        for table in (self.entries, self.items, self.pairs):
            if len(table) > self.LIMIT:
                table.clear()


def loads_shared(text: str, memo: Memo) -> dict[str, Any] | None:
    """loads() for many versions of many files, as the index reads them: a line
    seen before (in any document) is not parsed again but looked up in `memo`.
    The values returned are shared between documents: never change them."""
    memo.trim()
    try:
        return _document(text, memo)
    except (_Unsure, IndexError, ValueError):
        return None


def _document(text: str, memo: Memo | None) -> dict[str, Any]:
    if any(ch in text for ch in "\t\r\x85\u2028\u2029\ufeff") or " #" in text:
        raise _Unsure
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    result: dict[str, Any] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if memo is not None and (hit := memo.entries.get(line)) is not None:
            key, value = hit
            if key in result:
                raise _Unsure
            result[key] = value
            i += 1
            continue
        match = _KEY.match(line)
        if match is None:
            raise _Unsure
        key, rest = match.group(1), match.group(2)
        if key in result:
            raise _Unsure
        i += 1
        if rest is None or rest == "":
            items, i = _block_sequence(lines, i, memo)
            result[key] = items
        elif rest in ("|-", "|", "|+"):
            value, i = _literal(lines, i, rest)
            result[key] = value
        elif memo is None:
            result[key] = _flow_value(rest)
        else:
            value = _mapping_items(rest, memo) if rest[:1] == "{" else _flow_value(rest)
            memo.entries[line] = (key, value)
            result[key] = value
    return result


_NOT_SPLITTABLE = re.compile(r"[\"'\[\]{}]")


def _mapping_items(text: str, memo: Memo) -> Any:
    """A one-line flow mapping item by item, each looked up in memo: when one value
    changes, only its item is parsed again. Only for mappings whose items can
    be told apart by ", " alone (no quotes, brackets or braces inside)."""
    inner = text[1:-1]
    if text[-1:] != "}" or not inner or _NOT_SPLITTABLE.search(inner):
        return _flow_value(text)
    result: dict[str, Any] = {}
    for item in inner.split(", "):
        hit = memo.pairs.get(item)
        if hit is None:
            parsed = _flow_value("{" + item + "}")
            if not isinstance(parsed, dict) or len(parsed) != 1:
                raise _Unsure
            hit = memo.pairs[item] = next(iter(parsed.items()))
        key, value = hit
        if key in result:
            raise _Unsure
        result[key] = value
    return result


def _block_sequence(lines: list[str], i: int, memo: Memo | None = None) -> tuple[Any, int]:
    items: list[Any] = []
    while i < len(lines) and lines[i].startswith("  - "):
        line = lines[i]
        if memo is None:
            items.append(_flow_value(line[4:]))
        else:
            if line in memo.items:
                items.append(memo.items[line])
            else:
                items.append(memo.items.setdefault(line, _flow_value(line[4:])))
        i += 1
    if not items:
        if i < len(lines) and lines[i].startswith(" "):
            raise _Unsure  # a nested block mapping: not our style
        return None, i
    return items, i


def _literal(lines: list[str], i: int, style: str) -> tuple[str, int]:
    if style != "|-":
        raise _Unsure
    body = []
    while i < len(lines) and (lines[i].startswith("  ") or lines[i] == ""):
        body.append(lines[i][2:])
        i += 1
    while body and body[-1] == "":
        body.pop()
    if not body or body[0].startswith(" "):
        raise _Unsure
    return "\n".join(body), i


def _flow_value(text: str) -> Any:
    value, end = _parse(text, 0, flow=False)
    if text[end:].strip():
        raise _Unsure
    return value


def _parse(text: str, pos: int, *, flow: bool) -> tuple[Any, int]:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos >= len(text):
        return None, pos
    char = text[pos]
    if char == "{":
        return _mapping(text, pos + 1)
    if char == "[":
        return _sequence(text, pos + 1)
    if char == '"':
        return _double(text, pos + 1)
    if char == "'":
        return _single(text, pos + 1)
    if char in "&*!|>%@`":
        raise _Unsure
    return _plain(text, pos, flow=flow)


def _mapping(text: str, pos: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    pos = _skip(text, pos)
    if text[pos] == "}":
        return result, pos + 1
    while True:
        key, pos = _parse(text, pos, flow=True)
        if not isinstance(key, str) or text[pos] != ":" or key in result:
            raise _Unsure
        value, pos = _parse(text, pos + 1, flow=True)
        result[key] = value
        pos = _skip(text, pos)
        if text[pos] == "}":
            return result, pos + 1
        if text[pos] != ",":
            raise _Unsure
        pos += 1


def _sequence(text: str, pos: int) -> tuple[list[Any], int]:
    result: list[Any] = []
    pos = _skip(text, pos)
    if text[pos] == "]":
        return result, pos + 1
    while True:
        value, pos = _parse(text, pos, flow=True)
        result.append(value)
        pos = _skip(text, pos)
        if text[pos] == "]":
            return result, pos + 1
        if text[pos] != ",":
            raise _Unsure
        pos += 1


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _double(text: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    while True:
        char = text[pos]
        if char == '"':
            return "".join(out), pos + 1
        if char == "\\":
            code = text[pos + 1]
            if code in _ESCAPES:
                out.append(_ESCAPES[code])
                pos += 2
            elif code in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[code]
                out.append(chr(int(text[pos + 2:pos + 2 + width], 16)))
                pos += 2 + width
            else:
                raise _Unsure
        else:
            out.append(char)
            pos += 1


def _single(text: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    while True:
        char = text[pos]
        if char == "'":
            if pos + 1 < len(text) and text[pos + 1] == "'":
                out.append("'")
                pos += 2
                continue
            return "".join(out), pos + 1
        out.append(char)
        pos += 1


# Where a plain scalar ends: in flow context at an indicator or a ": "; in block
# context a ": " means a nested mapping, which is not our layout.
_FLOW_END = re.compile(r"[,\[\]{}]|:(?=[ ,\[\]{}]|$)")
_BLOCK_COLON = re.compile(r":(?: |$)")


def _plain(text: str, pos: int, *, flow: bool) -> tuple[Any, int]:
    if flow:
        match = _FLOW_END.search(text, pos)
        end = match.start() if match else len(text)
    else:
        if _BLOCK_COLON.search(text, pos):
            raise _Unsure
        end = len(text)
    raw = text[pos:end].rstrip(" ")
    if raw.startswith(("- ", "?", ": ")) or raw == "-":
        raise _Unsure
    return _resolve(raw), end


_WORDS = frozenset(("null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"))


def _resolve(raw: str) -> Any:
    if raw[:1].isalpha() and raw not in _WORDS:
        return raw  # text: no number or null starts with a letter
    if raw in ("", "~", "null", "Null", "NULL"):
        return None
    if raw in ("true", "True", "TRUE"):
        return True
    if raw in ("false", "False", "FALSE"):
        return False
    if _DUBIOUS.match(raw) or ("_" in raw and raw.replace("_", "").isdigit()):
        raise _Unsure
    if _INT.match(raw):
        return int(raw)
    if _FLOAT.match(raw):
        return float(raw)
    return raw
