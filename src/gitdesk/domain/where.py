"""`list --where EXPR`: a small query language over ticket fields.

    EXPR   := OR
    OR     := AND ("or" AND)*
    AND    := NOT ("and" NOT)*
    NOT    := "not" NOT | "(" EXPR ")" | TEST
    TEST   := FIELD OP VALUE | FIELD "in" "(" VALUE ("," VALUE)* ")"
    OP     := "=" | "!=" | "<" | ">" | "<=" | ">=" | "~"      (~ contains, any case)
    FIELD  := a ticket key (status, priority, ci, created, ...), fields.NAME,
              or the id of a custom field (a name the desk does not know is an
              error, never a filter that matches nothing)
    VALUE  := a bare word (web01, 2026-11-01, 42) or a quoted string ('a b', "a b")

Keywords are case-insensitive. Numbers compare as numbers, everything else as
text (ISO dates and times sort correctly as text). A list field (cis,
services) matches when any element does. A missing field equals nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from gitdesk.errors import UsageError

Predicate = Callable[[dict[str, Any]], bool]
OPERATORS = ("!=", "<=", ">=", "=", "<", ">", "~")
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>!=|<=|>=|=|<|>|~)
  | (?P<punct>[(),])
  | (?P<word>[^\s()=,!<>~"']+)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


class WhereError(UsageError):
    def __init__(self, expr: str, pos: int, message: str, *, hint: str | None = None) -> None:
        caret = " " * pos + "^"
        super().__init__(f"--where: {message} at position {pos + 1}\n  {expr}\n  {caret}",
                         hint=hint or "see `gitdesk list --help` for the query language")


def name_list(known: Collection[str]) -> str:
    """The names for a hint; custom fields, which come both as NAME and fields.NAME,
    once."""
    short = [n for n in known if not n.startswith("fields.")]
    if len(short) == len(known):
        return ", ".join(short)
    return ", ".join(short) + " (custom fields also as fields.NAME)"


def unknown_name(name: str, known: Collection[str]) -> str:
    """`'priorty' (did you mean 'priority'?)`: a name that is not one of known."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def tokenize(expr: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise WhereError(expr, pos, f"unexpected {expr[pos]!r}")
        kind = match.lastgroup or ""
        if kind == "string":
            raw = match.group(0)
            tokens.append(Token("value", re.sub(r"\\(.)", r"\1", raw[1:-1]), pos))
        elif kind != "space":
            tokens.append(Token(kind, match.group(0), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(expr)))
    return tokens


class _Parser:
    def __init__(self, expr: str, fields: Collection[str] | None) -> None:
        self.expr = expr
        self.fields = fields
        self.tokens = tokenize(expr)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.text.lower() == word:
            self.i += 1
            return True
        return False

    def fail(self, token: Token, message: str) -> WhereError:
        return WhereError(self.expr, token.pos, message)

    def parse(self) -> Predicate:
        if self.peek().kind == "end":
            raise self.fail(self.peek(), "empty expression")
        predicate = self.parse_or()
        token = self.peek()
        if token.kind != "end":
            raise self.fail(token, f"unexpected {token.text!r} (expected and, or or the end)")
        return predicate

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.keyword("or"):
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def parse_and(self) -> Predicate:
        parts = [self.parse_not()]
        while self.keyword("and"):
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def parse_not(self) -> Predicate:
        if self.keyword("not"):
            inner = self.parse_not()
            return lambda r: not inner(r)
        token = self.peek()
        if token.kind == "punct" and token.text == "(":
            self.take()
            inner = self.parse_or()
            closing = self.take()
            if closing.text != ")":
                raise self.fail(closing, "expected ')'")
            return inner
        return self.parse_test()

    def parse_test(self) -> Predicate:
        token = self.take()
        if token.kind != "word":
            raise self.fail(token, f"expected a field name, found {token.text or 'the end'!r}")
        name = token.text
        if self.fields is not None and name not in self.fields:
            raise WhereError(self.expr, token.pos,
                             f"unknown field {unknown_name(name, self.fields)}",
                             hint=f"fields: {name_list(self.fields)}")
        if self.keyword("in"):
            return _member(name, self.parse_list())
        op = self.take()
        if op.kind != "op":
            raise self.fail(op, f"expected an operator (=, !=, <, >, <=, >=, ~ or in) after "
                                f"{name!r}, found {op.text or 'the end'!r}")
        value = self.take()
        if value.kind not in ("word", "value"):
            raise self.fail(value, f"expected a value after {op.text!r}")
        return _compare(name, op.text, value.text)

    def parse_list(self) -> list[str]:
        opening = self.take()
        if opening.text != "(":
            raise self.fail(opening, "expected '(' after in")
        values = []
        while True:
            token = self.take()
            if token.kind not in ("word", "value"):
                raise self.fail(token, "expected a value in the list")
            values.append(token.text)
            separator = self.take()
            if separator.text == ")":
                return values
            if separator.text != ",":
                raise self.fail(separator, "expected ',' or ')'")


def compile_where(expr: str, fields: Collection[str] | None = None) -> Predicate:
    """The predicate of an expression; with `fields`, a field not among them is an error."""
    return _Parser(expr, fields).parse()


def ticket_shaped(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values kept flat, custom fields as `fields.NAME` keys (as the reports keep
    them), shaped as a ticket is (custom fields under `fields`), so that one
    expression selects the same tickets from either."""
    record: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for key, value in values.items():
        if key.startswith("fields."):
            custom[key[7:]] = value
        else:
            record[key] = value
    if custom:
        record["fields"] = {**(record.get("fields") or {}), **custom}
    return record


def lookup(record: dict[str, Any], name: str) -> Any:
    if name.startswith("fields."):
        return (record.get("fields") or {}).get(name[7:])
    if name in record:
        return record[name]
    return (record.get("fields") or {}).get(name)


def _values(record: dict[str, Any], name: str) -> list[Any]:
    value = lookup(record, name)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [" ".join(str(v) for v in value.values())]
    return [value]


def _number(text: Any) -> float | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text)
    try:
        return float(str(text))
    except ValueError:
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _test(value: Any, op: str, wanted: str) -> bool:
    if op == "~":
        return wanted.lower() in _text(value).lower()
    left, right = _number(value), _number(wanted)
    if left is not None and right is not None:
        a: Any = left
        b: Any = right
    else:
        a, b = _text(value).lower(), wanted.lower()
    result: bool = {"=": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b,
                    ">=": a >= b}[op]
    return result


def _compare(name: str, op: str, wanted: str) -> Predicate:
    def predicate(record: dict[str, Any]) -> bool:
        values = _values(record, name)
        if op == "!=":
            return not any(_test(v, "=", wanted) for v in values)
        return any(_test(v, op, wanted) for v in values)

    return predicate


def _member(name: str, options: list[str]) -> Predicate:
    return lambda r: any(_test(v, "=", o) for v in _values(r, name) for o in options)
