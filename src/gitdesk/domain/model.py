"""Tickets as plain data: a mapping in the canonical key order, edited in place. No I/O.

A ticket's `data` is whatever mapping its file was read into: the round-trip
codec's (which keeps comments and hand edits) or a plain dict (the importer's,
the tests'). Edits here use only the mapping protocol plus `insert` where the
mapping has it; values that need a YAML style say so by their type (`Flow`,
`Text`), and the codec writes them in that style.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

KEY_ORDER = (
    "id", "uid", "type", "summary", "description", "status", "request_type", "change_type",
    "impact", "urgency", "priority", "priority_override", "severity", "major", "category",
    "subcategory", "ci", "assignee", "group", "submitter", "created", "due", "pending_reason",
    "resolution_code", "solution", "symptom", "root_cause", "workaround", "known_error",
    "standard_change", "approval_required", "risk", "risk_answers", "window", "cis", "services",
    "implementation_plan", "backout_plan", "test_plan", "outcome", "escalation", "links",
    "fields", "notes", "events", "approvals", "conflicts",
)
IMMUTABLE = ("id", "uid", "type", "created", "change_type", "request_type",
             "approval_required")
APPEND_ONLY = ("notes", "events", "approvals")
TEXT_KEYS = ("description", "solution", "symptom", "root_cause", "workaround",
             "implementation_plan", "backout_plan", "test_plan")
_RANK = {key: i for i, key in enumerate(KEY_ORDER)}


def rank(key: str) -> int:
    """A key's place in the canonical order; keys gitdesk does not know go last."""
    return _RANK.get(key, len(KEY_ORDER))


def ticket_path(type_name: str, ticket_id: str) -> str:
    shard = ticket_id.partition("-")[2][:2]
    return f"tickets/{type_name}/{shard}/{ticket_id}.yaml"


def is_ticket_file(path: str) -> bool:
    """Whether a path in the desk's tree is where ticket files live (tickets/**.yaml)."""
    return path.startswith("tickets/") and path.endswith(".yaml")


class Flow(dict[str, Any]):
    """A mapping written on one line, `{a: b}`: notes, links, submitter, window."""


class Text(str):
    """Text of several lines, written as a literal block where that reads back exactly."""

    __slots__ = ()


@dataclass(frozen=True)
class Note:
    at: str
    by: str
    text: str
    internal: bool = False

    def entry(self) -> Flow:
        return Flow(at=self.at, by=self.by, text=self.text, internal=self.internal)


@dataclass(frozen=True)
class Link:
    rel: str
    id: str

    def entry(self) -> Flow:
        return Flow(rel=self.rel, id=self.id)


def insert(mapping: MutableMapping[str, Any], position: int, key: str, value: Any) -> None:
    """Put key at position (the round-trip mapping's own insert keeps its comments)."""
    native = getattr(mapping, "insert", None)
    if native is not None:
        native(position, key, value)
        return
    items = list(mapping.items())
    items.insert(position, (key, value))
    mapping.clear()
    mapping.update(items)


def replace(mapping: MutableMapping[str, Any], key: str, value: Any) -> None:
    """Set an existing key to a new value in its place, as a fresh entry: the round-trip
    mapping would otherwise wrap new text in the old value's quoting style, which
    cannot represent every text."""
    position = list(mapping.keys()).index(key)
    del mapping[key]
    insert(mapping, position, key, value)


def plain(value: Any) -> Any:
    """A deep copy as plain dicts, lists and scalars (styles and subclasses dropped)."""
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


class Ticket:
    """One ticket file's content; edits keep comments, order and untouched text."""

    def __init__(self, data: MutableMapping[str, Any], path: str) -> None:
        self.data = data
        self.path = path

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def type(self) -> str:
        return str(self.data["type"])

    @property
    def status(self) -> str:
        return str(self.data["status"])

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        if isinstance(value, str) and key in TEXT_KEYS:
            value = Text(value)
        if key in self.data:
            replace(self.data, key, value)
            return
        insert(self.data, self._position(key), key, value)

    def unset(self, key: str) -> None:
        self.data.pop(key, None)

    def append(self, key: str, item: Any) -> None:
        items = self.data.get(key)
        if items is None:
            items = []
            self.set(key, items)
        items.append(item)

    def items_of(self, key: str) -> list[Any]:
        value = self.data.get(key)
        return list(value) if isinstance(value, list) else []

    def links(self) -> list[Link]:
        return [Link(str(x["rel"]), str(x["id"])) for x in self.items_of("links")
                if isinstance(x, dict) and "rel" in x and "id" in x]

    def plain(self) -> dict[str, Any]:
        result: dict[str, Any] = plain(self.data)
        return result

    def _position(self, key: str) -> int:
        wanted = rank(key)
        for i, existing in enumerate(self.data.keys()):
            if rank(existing) > wanted:
                return i
        return len(self.data)


def new_ticket(fields: dict[str, Any], path: str) -> Ticket:
    """A ticket whose keys are laid out in the canonical order."""
    ticket = Ticket({}, path)
    for key in sorted(fields, key=rank):
        if fields[key] is not None:
            ticket.set(key, fields[key])
    return ticket
