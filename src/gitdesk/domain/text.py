"""How a ticket's values read as text: one table cell, one line."""

from __future__ import annotations

from typing import Any


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if set(value) <= {"name", "email"} and "name" in value:
            return str(value["name"]) + (f" <{value['email']}>" if value.get("email") else "")
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    return str(value)


def one_line(value: Any, width: int | None = None) -> str:
    text = " ".join(cell(value).split())
    if width is not None and len(text) > width:
        return text[: width - 1] + "…"
    return text
