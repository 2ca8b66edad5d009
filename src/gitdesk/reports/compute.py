"""The reports: plain functions from ticket facts to tables (and charts)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from gitdesk.domain.config import DeskConfig
from gitdesk.errors import UsageError
from gitdesk.reports.facts import Facts


class Source(Protocol):
    """Tickets as of a moment (reports.facts.facts_as_of over the index, in
    practice). With `since`, it may leave out tickets that were closed at the
    moment and were neither opened nor resolved after `since`."""

    def __call__(self, when: datetime, since: datetime | None = None
                 ) -> dict[str, Facts]: ...

AGING_EDGES = (30, 60, 90)
RESOLUTION_EDGES = (2, 7, 30, 60)


@dataclass
class Chart:
    title: str
    labels: list[str]
    series: dict[str, list[float]]


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: Chart | None = None
    note: str | None = None

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass
class Report:
    name: str
    title: str
    as_of: datetime
    sections: list[Section] = field(default_factory=list)
    definitions: list[str] = field(default_factory=list)


@dataclass
class Scope:
    """What a report looks at: the moment and the tickets."""

    config: DeskConfig
    as_of: datetime
    tickets: list[Facts]
    aging_edges: Sequence[int] = AGING_EDGES
    resolution_edges: Sequence[int] = RESOLUTION_EDGES
    detail_fields: Sequence[str] = ()
    sort: Sequence[str] = ()


def scope(config: DeskConfig, source: Source, as_of: datetime, *,
          types: Sequence[str] = (), created_from: datetime | None = None,
          created_to: datetime | None = None,
          keep: Callable[[Facts], bool] | None = None,
          since: datetime | None = None) -> list[Facts]:
    facts = source(as_of, since).values()
    out = []
    for ticket in facts:
        if types and ticket.type not in types:
            continue
        if created_from and ticket.opened and ticket.opened < created_from:
            continue
        if created_to and ticket.opened and ticket.opened >= created_to:
            continue
        if keep is not None and not keep(ticket):
            continue
        out.append(ticket)
    return sorted(out, key=lambda t: (t.opened or as_of, t.id))


def bucket_labels(edges: Sequence[int]) -> list[str]:
    labels, low = [], 0
    for edge in edges:
        labels.append(f"{low}-{edge} days")
        low = edge
    labels.append(f">{low} days")
    return labels


def bucket(days: float, edges: Sequence[int]) -> int:
    """Index of the bucket: [0, e1), [e1, e2), ..., [en, inf)."""
    for i, edge in enumerate(edges):
        if days < edge:
            return i
    return len(edges)


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def summary(s: Scope) -> Report:
    report = Report("summary", "Ticket status summary", s.as_of)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for t in s.tickets:
        for key in (t.type, "all"):
            counts[key]["total"] += 1
            counts[key]["open" if t.is_open else "closed"] += 1
            if t.is_open and t.due is not None and t.due < s.as_of:
                counts[key]["past due"] += 1
    order = [name for name in s.config.types if name in counts] + ["all"]
    rows: list[list[Any]] = [[name, counts[name]["open"], counts[name]["closed"],
                              counts[name]["past due"], counts[name]["total"]] for name in order]
    chart = Chart("Open and closed by type", [r[0] for r in rows[:-1]],
                  {"open": [r[1] for r in rows[:-1]], "closed": [r[2] for r in rows[:-1]],
                   "past due": [r[3] for r in rows[:-1]]})
    report.sections.append(Section("Status by type", ["type", "open", "closed", "past due",
                                                      "total"], rows, chart))
    return report


def aging(s: Scope) -> Report:
    report = Report("aging", "Tickets issued and closed by age", s.as_of)
    labels = bucket_labels(s.aging_edges)
    issued, closed, still_open = [0] * len(labels), [0] * len(labels), [0] * len(labels)
    for t in s.tickets:
        if t.opened is None:
            continue
        i = bucket(_days(s.as_of - t.opened), s.aging_edges)
        issued[i] += 1
        if t.is_open:
            still_open[i] += 1
        else:
            closed[i] += 1
    rows = [[labels[i], issued[i], closed[i], still_open[i]] for i in range(len(labels))]
    rows.append(["total", sum(issued), sum(closed), sum(still_open)])
    chart = Chart("Tickets by age", labels, {"closed": [float(c) for c in closed],
                                             "open": [float(o) for o in still_open]})
    report.sections.append(Section("Age at the as-of time (as-of minus opened)",
                                   ["age", "issued", "closed", "open"], rows, chart))
    return report


def resolution(s: Scope) -> Report:
    report = Report("resolution", "Resolution time", s.as_of)
    labels = bucket_labels(s.resolution_edges)
    per_priority: dict[str, list[float]] = defaultdict(list)
    counts = [0] * len(labels)
    for t in s.tickets:
        days = t.resolution_days()
        if days is None:
            continue
        counts[bucket(days, s.resolution_edges)] += 1
        per_priority[str(t.values.get("priority") or "none")].append(days)
        per_priority["all"].append(days)
    rows = [[labels[i], counts[i]] for i in range(len(labels))]
    rows.append(["total", sum(counts)])
    report.sections.append(Section("Resolved tickets by resolution time",
                                   ["resolution time", "tickets"], rows,
                                   Chart("Resolution time", labels,
                                         {"tickets": [float(c) for c in counts]})))
    order = [p for p in s.config.priorities if p in per_priority]
    order += [p for p in per_priority if p not in order and p != "all"] + ["all"]
    stats = [[p, len(per_priority[p]), _round(statistics.median(per_priority[p])),
              _round(statistics.fmean(per_priority[p]))] for p in order if per_priority[p]]
    report.sections.append(Section("Time to resolve by priority (days)",
                                   ["priority", "resolved", "median", "mean"], stats))
    return report


def past_due(s: Scope) -> Report:
    report = Report("past-due", "Past-due unresolved tickets", s.as_of)
    labels = bucket_labels(s.resolution_edges)
    counts = [0] * len(labels)
    listed: list[list[Any]] = []
    for t in s.tickets:
        due = t.due
        if not t.is_open or due is None or due >= s.as_of:
            continue
        overdue = _days(s.as_of - due)
        counts[bucket(overdue, s.resolution_edges)] += 1
        listed.append([t.id, t.values.get("priority"), t.values.get("assignee"),
                       t.values.get("due"), _round(overdue), t.values.get("summary")])
    rows = [[labels[i], counts[i]] for i in range(len(labels))]
    rows.append(["total", sum(counts)])
    report.sections.append(Section("By time past due", ["past due by", "tickets"], rows,
                                   Chart("Past due", labels,
                                         {"tickets": [float(c) for c in counts]})))
    listed.sort(key=lambda r: (-(r[4] or 0), r[0]))
    report.sections.append(Section("Past-due tickets", ["id", "priority", "assignee", "due",
                                                        "days past due", "summary"], listed))
    return report


DETAIL_COLUMNS = ["id", "summary", "ci", "assignee", "priority", "status", "modified",
                  "created", "submitter"]


def detail(s: Scope) -> Report:
    report = Report("detail", "Ticket detail", s.as_of)
    columns = DETAIL_COLUMNS + [f"fields.{f}" for f in s.detail_fields]
    rows: list[list[Any]] = []
    for t in s.tickets:
        submitter = t.values.get("submitter")
        name = submitter.get("name") if isinstance(submitter, dict) else submitter
        values = {**t.values, "id": t.id, "modified": _stamp(t.modified),
                  "created": _stamp(t.opened), "submitter": name}
        rows.append([values.get(c) for c in columns])
    ranks = {name: i for i, name in enumerate(s.config.priorities)}
    for key in reversed(s.sort or ["created"]):
        name = key.lstrip("-")
        if name not in columns:
            raise UsageError(f"--sort: {name!r} is not a column", hint=", ".join(columns))
        i = columns.index(name)
        rows.sort(key=lambda r, i=i, name=name: _order(r[i], ranks if name == "priority"
                                                       else None),  # type: ignore[misc]
                  reverse=key.startswith("-"))
    report.sections.append(Section("Tickets", columns, rows))
    return report


def _order(value: Any, ranks: dict[str, int] | None) -> tuple[int, float, str]:
    """Sort key: missing values last, priorities by rank, numbers as numbers."""
    if value is None:
        return (2, 0.0, "")
    if ranks is not None:
        return (0, float(ranks.get(str(value), len(ranks))), str(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def sla(s: Scope) -> Report:
    report = Report("sla", "Resolution within target (SLA)", s.as_of)
    by_priority: dict[str, Counter[str]] = defaultdict(Counter)
    by_group: dict[str, Counter[str]] = defaultdict(Counter)
    breached: list[list[Any]] = []
    for t in s.tickets:
        priority = str(t.values.get("priority") or "none")
        target = t.target(s.config)
        if target is None or t.opened is None or not _has_target(s.config, t):
            continue
        group = str(t.values.get("group") or "(none)")
        days = t.resolution_days()
        if days is not None:
            ok = t.resolved is not None and t.resolved - t.opened <= target
            outcome = "within" if ok else "breached"
        elif t.is_open and t.opened + target < s.as_of:
            outcome = "open breached"
        else:
            continue
        for tally in (by_priority[priority], by_group[group], by_priority["all"]):
            tally[outcome] += 1
        by_group.setdefault("all", Counter())
        if outcome != "within":
            late = (t.resolved or s.as_of) - (t.opened + target)
            breached.append([t.id, priority, group, outcome, _round(late.total_seconds() / 3600),
                             t.values.get("summary")])
    for name, table in (("priority", by_priority), ("group", by_group)):
        order = [p for p in s.config.priorities if p in table] if name == "priority" \
            else sorted(k for k in table if k != "all")
        rows: list[list[Any]] = []
        for key in [*order, "all"] if name == "priority" else order:
            c = table[key]
            resolved = c["within"] + c["breached"]
            share = _round(100 * c["within"] / resolved) if resolved else None
            rows.append([key, resolved, c["within"], c["breached"], c["open breached"], share])
        chart = Chart(f"Resolved within target by {name} (%)", [r[0] for r in rows],
                      {"within target %": [float(r[5] or 0) for r in rows]})
        report.sections.append(Section(f"By {name}", [name, "resolved", "within target",
                                                      "breached", "open past target",
                                                      "within %"], rows, chart))
    breached.sort(key=lambda r: (-(r[4] or 0), r[0]))
    report.sections.append(Section("Breached tickets", ["id", "priority", "group", "outcome",
                                                        "hours late", "summary"], breached))
    return report


def _has_target(config: DeskConfig, ticket: Facts) -> bool:
    """Only types whose tickets get a due time have a resolution target (not problems
    or changes in the ITIL template)."""
    ticket_type = config.types.get(ticket.type)
    return ticket_type is not None and ticket_type.due


def changes(s: Scope) -> Report:
    report = Report("changes", "Changes", s.as_of)
    items = [t for t in s.tickets if t.type == "change"]
    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    for t in items:
        kind = str(t.values.get("change_type") or "?")
        ending = str(t.values.get("outcome")) if t.values.get("outcome") else (
            "cancelled" if t.status == "cancelled" else "open" if t.is_open else str(t.status))
        by_type[kind][ending] += 1
        by_type["all"][ending] += 1
    outcomes = sorted({o for c in by_type.values() for o in c})
    rows = []
    for kind in [k for k in ("standard", "normal", "emergency") if k in by_type] + \
            sorted(k for k in by_type if k not in ("standard", "normal", "emergency", "all")) \
            + (["all"] if by_type else []):
        c = by_type[kind]
        reviewed = sum(c[o] for o in c if o not in ("open", "cancelled"))
        rate = _round(100 * c["successful"] / reviewed) if reviewed else None
        rows.append([kind, *[c[o] for o in outcomes], sum(c.values()), rate])
    report.sections.append(Section("By type and outcome", ["change type", *outcomes, "total",
                                                           "success %"], rows))
    total = len(items)
    emergency = sum(1 for t in items if t.values.get("change_type") == "emergency")
    report.sections.append(Section("Emergency share", ["changes", "emergency", "share %"],
                                   [[total, emergency,
                                     _round(100 * emergency / total) if total else None]]))
    per_ci: Counter[str] = Counter()
    for t in items:
        for ci in {*(t.values.get("cis") or []), *([t.values["ci"]] if t.values.get("ci")
                                                  else [])}:
            per_ci[str(ci)] += 1
    ci_rows: list[list[Any]] = [[ci, n] for ci, n in
                                sorted(per_ci.items(), key=lambda kv: (-kv[1], kv[0]))]
    report.sections.append(Section("Changes per CI", ["ci", "changes"], ci_rows,
                                   Chart("Changes per CI", [r[0] for r in ci_rows[:15]],
                                         {"changes": [float(r[1]) for r in ci_rows[:15]]})
                                   if ci_rows else None))
    upcoming = []
    for t in items:
        window = t.values.get("window") or {}
        if t.is_open and window.get("start") and window["start"] >= _stamp(s.as_of):
            upcoming.append([window["start"], window.get("end"), t.id,
                             t.values.get("change_type"), t.status, t.values.get("risk"),
                             t.values.get("summary")])
    upcoming.sort()
    report.sections.append(Section("Upcoming schedule", ["start", "end", "id", "type", "status",
                                                         "risk", "summary"], upcoming))
    return report


REPORTS: dict[str, Callable[[Scope], Report]] = {
    "summary": summary, "aging": aging, "resolution": resolution, "past-due": past_due,
    "detail": detail, "sla": sla, "changes": changes,
}


def _week(config: DeskConfig, source: Source, end: datetime, types: Sequence[str],
          keep: Callable[[Facts], bool] | None) -> dict[str, float | None]:
    start = end - timedelta(days=7)
    # every count below is of tickets open at `end`, or opened or resolved after `start`
    tickets = scope(config, source, end, types=types, keep=keep, since=start)
    intake = sum(1 for t in tickets if t.opened is not None and t.opened > start)
    resolved = [t for t in tickets if t.counts_as_resolved and t.resolved is not None
                and start < t.resolved <= end]
    within = 0
    timed = 0
    for t in resolved:
        target = t.target(config)
        if target is None or t.opened is None or t.resolved is None or \
                not _has_target(config, t):
            continue
        timed += 1
        within += t.resolved - t.opened <= target
    backlog = sum(1 for t in tickets if t.is_open)
    overdue = sum(1 for t in tickets if t.is_open and t.due is not None and t.due < end)
    days = [d for t in resolved if (d := t.resolution_days()) is not None]
    return {"opened": intake, "resolved": len(resolved), "backlog (open)": backlog,
            "past due": overdue,
            "resolved within target %": _round(100 * within / timed) if timed else None,
            "median days to resolve": _round(statistics.median(days)) if days else None}


def weekly(config: DeskConfig, source: Source, as_of: datetime,
           types: Sequence[str] = (), keep: Callable[[Facts], bool] | None = None) -> Report:
    report = Report("weekly", "Weekly service desk report", as_of)
    this = _week(config, source, as_of, types, keep)
    before = _week(config, source, as_of - timedelta(days=7), types, keep)
    table = []
    for metric, value in this.items():
        previous = before[metric]
        delta = _round(value - previous) if value is not None and previous is not None else None
        table.append([metric, value, previous, delta])
    week = f"{_stamp(as_of - timedelta(days=7))} to {_stamp(as_of)}"
    report.sections.append(Section(f"The week {week}", ["metric", "this week", "previous week",
                                                        "change"], table,
                                   Chart("This week and the one before",
                                         ["opened", "resolved", "backlog (open)", "past due"],
                                         {"this week": [float(this[k] or 0) for k in
                                                        ("opened", "resolved", "backlog (open)",
                                                         "past due")],
                                          "previous week": [float(before[k] or 0) for k in
                                                            ("opened", "resolved",
                                                             "backlog (open)", "past due")]})))
    tickets = scope(config, source, as_of, types=types, keep=keep,
                    since=as_of - timedelta(days=7))
    by_type = []
    for name in config.types:
        mine = [t for t in tickets if t.type == name]
        opened = sum(1 for t in mine if t.opened and t.opened > as_of - timedelta(days=7))
        resolved = sum(1 for t in mine if t.counts_as_resolved and t.resolved
                       and t.resolved > as_of - timedelta(days=7))
        by_type.append([name, opened, resolved, sum(1 for t in mine if t.is_open)])
    report.sections.append(Section("This week by type", ["type", "opened", "resolved",
                                                         "open at end"], by_type))
    return report
