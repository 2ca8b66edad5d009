"""Reading a ServiceNow incident event log: the CSV (or the .zip, .gz or .bz2
holding it) as rows grouped by incident, and the Clock that reads its times.

Values are interned and normalised as they are read: `?` and the empty cell
are None (no value), runs of spaces collapse to one ("Opened by  8" ->
"Opened by 8"). A line with the wrong number of columns, or without an
incident number, is kept aside as malformed with its reason.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gitdesk.errors import UsageError

MISSING = "?"
REQUIRED_COLUMNS = ("number", "incident_state", "sys_updated_by", "sys_updated_at")


@dataclass
class Row:
    line: int  # line of the CSV file where the row starts
    seq: int  # position of the row in its incident, from 1
    values: tuple[str | None, ...]
    time: int | None = None  # sys_updated_at (epoch seconds), None: unreadable
    when: int = 0  # the commit time: time, never before the incident's previous row
    done: bool = False


@dataclass
class Log:
    path: str
    columns: list[str]
    incidents: dict[str, list[Row]]
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    rows: int = 0


def _open_text(path: Path) -> Iterator[io.TextIOBase]:
    name = path.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
            if len(members) != 1:
                raise UsageError(f"{path}: expected one .csv file in the zip archive, "
                                 f"found {len(members)}")
            with archive.open(members[0]) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        return
    opener: Any = gzip.open if name.endswith(".gz") else bz2.open if name.endswith(".bz2") \
        else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        yield handle


def read_log(path: Path) -> Log:
    """Rows grouped by incident (in order of first appearance), values interned."""
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    intern: dict[str, str | None] = {MISSING: None, "": None}
    incidents: dict[str, list[Row]] = {}
    malformed: list[tuple[int, str]] = []
    count = 0
    try:
        for handle in _open_text(path):
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise UsageError(f"{path}: the file is empty")
            columns = [c.strip() for c in header]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise UsageError(f"{path}: not a ServiceNow incident event log: no column "
                                 f"{', '.join(missing)}",
                                 hint=f"expected at least: {', '.join(REQUIRED_COLUMNS)}")
            width = len(columns)
            number_at = columns.index("number")
            line = reader.line_num + 1
            for record in reader:
                count += 1
                if len(record) != width:
                    malformed.append((line, f"{len(record)} columns, the header has {width}"))
                    line = reader.line_num + 1
                    continue
                values = []
                for cell in record:
                    value = intern.get(cell, "")
                    if value == "":
                        text = " ".join(cell.split())
                        value = None if text in (MISSING, "") else text
                        intern[cell] = value
                    values.append(value)
                number = values[number_at]
                if number is None:
                    malformed.append((line, "no incident number"))
                else:
                    rows = incidents.setdefault(number, [])
                    rows.append(Row(line, len(rows) + 1, tuple(values)))
                line = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise UsageError(f"{path}: cannot read the CSV: {exc}") from exc
    return Log(str(path), columns, incidents, malformed, count)


class Clock:
    """ServiceNow times (d/m/Y H:M by default) to epoch seconds, cached."""

    def __init__(self, formats: tuple[str, ...], zone: str) -> None:
        self.formats = formats
        try:
            self.zone = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise UsageError(f"mapping: unknown timezone {zone!r}") from exc
        self._cache: dict[str, int | None] = {}

    def parse(self, text: str | None) -> int | None:
        if text is None:
            return None
        try:
            return self._cache[text]
        except KeyError:
            pass
        value = None
        for fmt in self.formats:
            try:
                moment = datetime.strptime(text, fmt)
            except ValueError:
                continue
            value = int(moment.replace(tzinfo=self.zone).timestamp())
            break
        self._cache[text] = value
        return value


_ISO: dict[int, str] = {}


def iso(stamp: int) -> str:
    text = _ISO.get(stamp)
    if text is None:
        text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
        _ISO[stamp] = text
    return text


def to_int(text: str | None) -> int | None:
    """A cell as a whole number, or None."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None
