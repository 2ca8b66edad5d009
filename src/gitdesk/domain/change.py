"""Change management: change types, standard changes, windows, risk, schedule, collisions."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitdesk.domain.clock import iso, parse_time
from gitdesk.domain.config import DeskConfig, parse_duration
from gitdesk.domain.model import Flow, Text
from gitdesk.errors import UsageError

RISKS = ("low", "medium", "high")
FINAL = ("closed", "cancelled")


def parse_window(text: str) -> dict[str, str]:
    """START/END or START/DURATION (e.g. 2026-12-01T22:00Z/2h) as {start, end}."""
    start_text, sep, end_text = text.partition("/")
    if not sep:
        raise UsageError(f"window: {text!r} is not START/END",
                         hint="e.g. 2026-12-01T22:00:00Z/2026-12-01T23:00:00Z or "
                              "2026-12-01T22:00:00Z/1h")
    try:
        start = parse_time(start_text.strip())
    except ValueError as exc:
        raise UsageError(f"window: start {start_text!r} is not a date-time") from exc
    try:
        end = start + parse_duration(end_text)
    except ValueError:
        try:
            end = parse_time(end_text.strip())
        except ValueError as exc:
            raise UsageError(f"window: end {end_text!r} is neither a date-time nor a "
                             "duration like 2h") from exc
    if end <= start:
        raise UsageError(f"window: end {iso(end)} is not after start {iso(start)}")
    return {"start": iso(start), "end": iso(end)}


def window_map(window: dict[str, str]) -> Any:
    return Flow(dict(window))


def prepare(config: DeskConfig, values: dict[str, Any], standard: str | None,
            now: datetime) -> None:
    """Fill and check a new change's values (in place)."""
    if standard is not None:
        _apply_standard(config, values, standard, now)
    choice = config.types["change"].workflow
    change_type = values.setdefault("change_type", getattr(choice, "default", None) or "normal")
    valid = tuple(getattr(choice, "map", {}) or ())
    if valid and change_type not in valid:
        raise UsageError(f"--change-type: {change_type!r} is not one of: {', '.join(valid)}")
    if change_type == "standard" and standard is None:
        names = ", ".join(config.standard_changes) or "none configured"
        raise UsageError("standard changes are opened from a template: --standard NAME",
                         hint=f"templates: {names}")
    if isinstance(values.get("window"), str):
        values["window"] = window_map(parse_window(values["window"]))
    risk = values.get("risk")
    if risk is not None and risk not in RISKS:
        raise UsageError(f"--risk: {risk!r} is not one of: {', '.join(RISKS)}")


def _apply_standard(config: DeskConfig, values: dict[str, Any], name: str,
                    now: datetime) -> None:
    template = config.standard_changes.get(name)
    if template is None:
        names = ", ".join(config.standard_changes) or "none configured"
        raise UsageError(f"--standard: no standard change {name!r}", hint=f"templates: {names}")
    if values.get("change_type") not in (None, "standard"):
        raise UsageError("--standard opens a standard change; drop --change-type")
    values["change_type"] = "standard"
    values["standard_change"] = name
    for key, value in template.values.items():
        if key in ("duration", "summary"):  # the summary comes from -s or the template
            continue
        if key == "cis" or key == "services":
            values.setdefault(key, list(value))
        else:
            values.setdefault(key, Text(value) if isinstance(value, str) else value)
    duration = template.values.get("duration")
    if duration and isinstance(values.get("window"), str) and "/" not in values["window"]:
        values["window"] = f"{values['window']}/{duration}"


@dataclass(frozen=True)
class Scheduled:
    id: str
    summary: str
    status: str
    change_type: str
    risk: str | None
    start: str
    end: str
    cis: tuple[str, ...]
    services: tuple[str, ...]
    group: str | None
    assignee: str | None
    uid: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> Scheduled:
        cis = [*(data.get("cis") or [])]
        if data.get("ci") and data["ci"] not in cis:
            cis.append(data["ci"])
        return cls(id=data["id"], summary=data["summary"], status=data["status"],
                   change_type=str(data.get("change_type", "")), risk=data.get("risk"),
                   start=data["window"]["start"], end=data["window"]["end"], cis=tuple(cis),
                   services=tuple(data.get("services") or []), group=data.get("group"),
                   assignee=data.get("assignee"), uid=data["uid"])

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "start": self.start, "end": self.end, "status": self.status,
                "change_type": self.change_type, "risk": self.risk, "cis": list(self.cis),
                "services": list(self.services), "group": self.group, "summary": self.summary}


def schedule(records: list[dict[str, Any]], *, start: str | None = None,
             end: str | None = None, include_final: bool = False) -> list[Scheduled]:
    """Changes with a window overlapping [start, end), in time order."""
    out = []
    for data in records:
        if data.get("type") != "change" or not data.get("window"):
            continue
        if data.get("status") == "cancelled" or (not include_final and data["status"] in FINAL):
            continue
        item = Scheduled.of(data)
        if start is not None and item.end <= start:
            continue
        if end is not None and item.start >= end:
            continue
        out.append(item)
    return sorted(out, key=lambda s: (s.start, s.end, s.id))


@dataclass(frozen=True)
class Collision:
    first: Scheduled
    second: Scheduled
    shared: tuple[str, ...]
    risk: str

    def record(self) -> dict[str, Any]:
        return {"first": self.first.id, "second": self.second.id,
                "overlap_start": max(self.first.start, self.second.start),
                "overlap_end": min(self.first.end, self.second.end),
                "shared": ", ".join(self.shared), "combined_risk": self.risk,
                "first_risk": self.first.risk, "second_risk": self.second.risk}


def combined_risk(a: str | None, b: str | None) -> str:
    """The higher of the two, raised one level when both are at least medium."""
    ranks = [RISKS.index(r) if r in RISKS else 1 for r in (a, b)]
    level = max(ranks) + (1 if min(ranks) >= 1 else 0)
    return RISKS[min(level, len(RISKS) - 1)]


def collisions(items: list[Scheduled]) -> list[Collision]:
    found = []
    for a, b in itertools.combinations(sorted(items, key=lambda s: s.start), 2):
        if not (a.start < b.end and b.start < a.end):
            continue
        shared = [f"ci {c}" for c in a.cis if c in b.cis]
        shared += [f"service {s}" for s in a.services if s in b.services]
        if a.group and a.group == b.group:
            shared.append(f"group {a.group}")
        if shared:
            found.append(Collision(a, b, tuple(shared), combined_risk(a.risk, b.risk)))
    return found


def ics(items: list[Scheduled], *, stamp: str) -> str:
    """An iCalendar file (RFC 5545) of the schedule."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//gitdesk//change schedule//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    for item in items:
        description = (f"{item.change_type} change, status {item.status}, risk "
                       f"{item.risk or 'unknown'}; CIs: {', '.join(item.cis) or '-'}; "
                       f"services: {', '.join(item.services) or '-'}")
        lines += ["BEGIN:VEVENT", f"UID:{item.uid}@gitdesk", f"DTSTAMP:{_ics_time(stamp)}",
                  f"DTSTART:{_ics_time(item.start)}", f"DTEND:{_ics_time(item.end)}",
                  f"SUMMARY:{_ics_text(f'{item.id}: {item.summary}')}",
                  f"DESCRIPTION:{_ics_text(description)}",
                  f"CATEGORIES:{_ics_text(item.change_type)}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _ics_time(text: str) -> str:
    return parse_time(text).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (continuation lines start with a space)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode("utf-8"))
            current = b""
        current += encoded
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)
