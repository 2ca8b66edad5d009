"""Custom fields per ticket type, as the "Add Custom Field" dialog defines them.

A field has an id, a screen caption, a report title, a format (text, number,
date, datetime, list, user, bool), a default, list values and the states in
which it is required. Values typed on the command line are checked and
converted here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gitdesk.domain.clock import iso
from gitdesk.errors import UsageError

FORMATS = ("text", "number", "date", "datetime", "list", "user", "bool")
Value = str | int | float | bool | None


@dataclass(frozen=True)
class CustomField:
    id: str
    caption: str
    title: str
    format: str
    default: Value = None
    values: tuple[str, ...] = ()
    required_in: tuple[str, ...] = ()

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> CustomField:
        return cls(id=raw["id"], caption=raw.get("caption", raw["id"]),
                   title=raw.get("title", raw.get("caption", raw["id"])),
                   format=raw.get("format", "text"), default=raw.get("default"),
                   values=tuple(str(v) for v in raw.get("values", [])),
                   required_in=tuple(raw.get("required_in", [])))

    def convert(self, text: str, *, people: tuple[str, ...] = ()) -> Value:
        """The typed value of what a user typed; UsageError names the field."""
        if text == "":
            return None
        try:
            return _CONVERTERS[self.format](self, text, people)
        except ValueError as exc:
            raise UsageError(f"--field {self.id}: {exc}") from exc

    def problem(self, value: Any, *, people: tuple[str, ...] = ()) -> str | None:
        """Why a stored value is not valid for this field, or None."""
        if value is None:
            return None
        if self.format == "number":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            return None if ok else f"{value!r} is not a number"
        if self.format == "bool":
            return None if isinstance(value, bool) else f"{value!r} is not true or false"
        if not isinstance(value, str):
            return f"{value!r} is not text"
        try:
            _CONVERTERS[self.format](self, value, people)
        except ValueError as exc:
            return str(exc)
        return None


def _number(field: CustomField, text: str, people: tuple[str, ...]) -> Value:
    if re.fullmatch(r"[+-]?\d+", text.strip()):
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def _date(field: CustomField, text: str, people: tuple[str, ...]) -> Value:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"{text!r} is not a date like 2026-11-25") from None


def _datetime(field: CustomField, text: str, people: tuple[str, ...]) -> Value:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date-time like 2026-11-25T16:00:00Z") from None
    return iso(moment) if moment.tzinfo else iso(moment.replace(tzinfo=None).astimezone())


def _list(field: CustomField, text: str, people: tuple[str, ...]) -> Value:
    if text not in field.values:
        raise ValueError(f"{text!r} is not one of: {', '.join(field.values)}")
    return text


def _user(field: CustomField, text: str, people: tuple[str, ...]) -> Value:
    if people and text not in people:
        raise ValueError(f"{text!r} is not a person of the policy")
    return text


def _bool(field: CustomField, text: str, people: tuple[str, ...]) -> Value:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise ValueError(f"{text!r} is not true or false")


def _text(field: CustomField, text: str, people: tuple[str, ...]) -> Value:
    return text


_CONVERTERS = {"number": _number, "date": _date, "datetime": _datetime, "list": _list,
               "user": _user, "bool": _bool, "text": _text}


def definition_problems(raw: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Consistency of one field definition (its default must be a valid value)."""
    field = CustomField.from_raw(raw)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if field.format == "list" and not field.values:
        problems.append((("values",), "a list field needs values"))
    if field.default is not None:
        why = field.problem(field.default)
        if why:
            problems.append((("default",), f"default {why}"))
    return problems
