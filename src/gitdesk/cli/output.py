"""Rendering of records as table, JSON, YAML or CSV: data on stdout, nothing else.

JSON and YAML carry the data exactly (their own escaping keeps it inert); a
table shows every value as one visible line (no control character reaches the
terminal); CSV cells are neutralised for spreadsheets (domain.text.csv_cell)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gitdesk.domain.text import csv_text, inert_json, one_line
from gitdesk.yaml import roundtrip as yamlio

FORMATS = ("table", "json", "yaml", "csv")


def json_text(data: Any) -> str:
    return inert_json(json.dumps(data, indent=2, ensure_ascii=False, default=str)) + "\n"


def render(records: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str,
           *, headers: dict[str, str] | None = None, width: int = 60) -> str:
    """Records in a format; a table cuts each value to `width` characters."""
    if fmt == "json":
        return json_text(list(records))
    if fmt == "yaml":
        return yamlio.dump([dict(r) for r in records]).decode("utf-8") if records else "[]\n"
    titles = [(headers or {}).get(c, c) for c in columns]
    if fmt == "csv":
        return csv_text([titles, *([record.get(c) for c in columns] for record in records)])
    from tabulate import tabulate

    rows = [[one_line(record.get(c), width) for c in columns] for record in records]
    return tabulate(rows, headers=[one_line(t) for t in titles], tablefmt="simple",
                    disable_numparse=True) + "\n"
