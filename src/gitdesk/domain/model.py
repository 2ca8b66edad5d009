"""Tickets: YAML mappings in round-trip form with stable key order. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from gitdesk.yaml import roundtrip as yamlio

KEY_ORDER = (
    "id", "uid", "type", "summary", "description", "status", "request_type", "change_type",
    "impact", "urgency", "priority", "priority_override", "severity", "major", "category",
    "subcategory", "ci", "assignee", "group", "submitter", "created", "due", "pending_reason",
    "resolution_code", "solution", "symptom", "root_cause", "workaround", "known_error",
    "standard_change", "approval_required", "risk", "risk_answers", "window", "cis", "services",
    "implementation_plan", "backout_plan", "test_plan", "outcome", "escalation", "links",
    "fields", "notes", "events", "approvals",
)
IMMUTABLE = ("id", "uid", "type", "created", "change_type", "request_type",
             "approval_required")
APPEND_ONLY = ("notes", "events", "approvals")
TEXT_KEYS = ("description", "solution", "symptom", "root_cause", "workaround",
             "implementation_plan", "backout_plan", "test_plan")


def ticket_path(type_name: str, ticket_id: str) -> str:
    shard = ticket_id.partition("-")[2][:2]
    return f"tickets/{type_name}/{shard}/{ticket_id}.yaml"


@dataclass(frozen=True)
class Note:
    at: str
    by: str
    text: str
    internal: bool = False

    def to_yaml(self) -> CommentedMap:
        return yamlio.flow_map({"at": self.at, "by": self.by, "text": self.text,
                                "internal": self.internal})


@dataclass(frozen=True)
class Link:
    rel: str
    id: str

    def to_yaml(self) -> CommentedMap:
        return yamlio.flow_map({"rel": self.rel, "id": self.id})


class Ticket:
    """One ticket file's content; edits keep comments, order and untouched text."""

    def __init__(self, data: CommentedMap, path: str) -> None:
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
            value = yamlio.block_text(value)
        if key in self.data:
            yamlio.replace(self.data, key, value)
            return
        self.data.insert(self._position(key), key, value)

    def unset(self, key: str) -> None:
        self.data.pop(key, None)

    def append(self, key: str, item: Any) -> None:
        items = self.data.get(key)
        if items is None:
            items = yamlio.seq()
            self.set(key, items)
        items.append(item)

    def items_of(self, key: str) -> list[Any]:
        value = self.data.get(key)
        return list(value) if isinstance(value, list) else []

    def links(self) -> list[Link]:
        return [Link(str(x["rel"]), str(x["id"])) for x in self.items_of("links")
                if isinstance(x, dict) and "rel" in x and "id" in x]

    def plain(self) -> dict[str, Any]:
        result: dict[str, Any] = yamlio.plain(self.data)
        return result

    def dump(self) -> bytes:
        return yamlio.dump(self.data)

    def _position(self, key: str) -> int:
        rank = KEY_ORDER.index(key) if key in KEY_ORDER else len(KEY_ORDER)
        keys = list(self.data.keys())
        for i, existing in enumerate(keys):
            other = KEY_ORDER.index(existing) if existing in KEY_ORDER else len(KEY_ORDER)
            if other > rank:
                return i
        return len(keys)


def new_ticket(fields: dict[str, Any], path: str) -> Ticket:
    """A ticket whose keys are laid out in the canonical order."""
    ticket = Ticket(yamlio.block_map(), path)
    for key in sorted(fields, key=lambda k: KEY_ORDER.index(k) if k in KEY_ORDER else 999):
        if fields[key] is not None:
            ticket.set(key, fields[key])
    return ticket
