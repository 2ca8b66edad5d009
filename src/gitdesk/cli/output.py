"""Rendering of records as table, JSON, YAML or CSV: data on stdout, nothing else."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from gitdesk.yaml import roundtrip as yamlio

FORMATS = ("table", "json", "yaml", "csv")


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


def render(records: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str,
           *, headers: dict[str, str] | None = None) -> str:
    if fmt == "json":
        return json.dumps(list(records), indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt == "yaml":
        return yamlio.dump([dict(r) for r in records]).decode("utf-8") if records else "[]\n"
    titles = [(headers or {}).get(c, c) for c in columns]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(titles)
        for record in records:
            writer.writerow([cell(record.get(c)) for c in columns])
        return out.getvalue()
    from tabulate import tabulate

    rows = [[one_line(record.get(c), 60) for c in columns] for record in records]
    return tabulate(rows, headers=titles, tablefmt="simple", disable_numparse=True) + "\n"
