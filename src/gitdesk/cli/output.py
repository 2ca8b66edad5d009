"""Rendering of records as table, JSON, YAML or CSV: data on stdout, nothing else."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from gitdesk.domain.text import cell, one_line
from gitdesk.yaml import roundtrip as yamlio

FORMATS = ("table", "json", "yaml", "csv")


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
