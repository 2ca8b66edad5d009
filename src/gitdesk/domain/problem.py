"""Problem management: known errors, publishing workarounds, recurring incidents."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gitdesk.domain.clock import iso, parse_time
from gitdesk.domain.config import DeskConfig
from gitdesk.domain.edits import Context, Edit
from gitdesk.domain.model import Note, Ticket
from gitdesk.domain.query import category_of

# How much a word found in each field counts when ranking known errors.
WEIGHTS = {"summary": 3.0, "symptom": 2.5, "root_cause": 2.0, "workaround": 1.5,
           "description": 1.0}
CI_BONUS = 4.0
CATEGORY_BONUS = 2.0
_WORD = re.compile(r"[\w.-]+", re.UNICODE)
_STOP = frozenset(("a", "an", "and", "are", "at", "be", "by", "for", "from", "in", "is", "it",
                   "not", "of", "on", "or", "the", "to", "with"))


def words(text: str) -> set[str]:
    return {w for w in (m.group(0).lower().strip(".-") for m in _WORD.finditer(text))
            if len(w) > 1 and w not in _STOP}


def known_error(data: dict[str, Any]) -> bool:
    return data.get("type") == "problem" and bool(data.get("known_error"))


def documented(ticket: Ticket) -> bool:
    """A problem is a known error once root cause and workaround are written down."""
    return bool(ticket.get("root_cause")) and bool(ticket.get("workaround"))


@dataclass(frozen=True)
class Match:
    score: float
    data: dict[str, Any]

    def record(self) -> dict[str, Any]:
        return {"id": self.data["id"], "score": round(self.score, 1),
                "status": self.data.get("status"), "ci": self.data.get("ci"),
                "category": self.data.get("category"), "summary": self.data.get("summary"),
                "workaround": self.data.get("workaround")}


def search(records: list[dict[str, Any]], text: str, *, ci: str | None = None,
           category: str | None = None, limit: int | None = None) -> list[Match]:
    """Known errors ranked by how well they match the text, CI and category."""
    wanted = words(text)
    matches = []
    for data in records:
        if not known_error(data):
            continue
        score = 0.0
        for key, weight in WEIGHTS.items():
            score += weight * len(wanted & words(str(data.get(key) or "")))
        cis = {str(c).lower() for c in [data.get("ci"), *(data.get("cis") or [])] if c}
        if ci and ci.lower() in cis:
            score += CI_BONUS
        if score > 0 and category and \
                str(data.get("category") or "").lower() == category.lower():
            score += CATEGORY_BONUS  # only ranks what already matched words or the CI
        if score > 0:
            matches.append(Match(score, data))
    matches.sort(key=lambda m: (-m.score, m.data["id"]))
    return matches[:limit]


def publish_workaround(ctx: Context, edit: Edit, problem: Ticket, text: str) -> list[str]:
    """Add the workaround as a note to every open incident the problem causes."""
    told = []
    for link in problem.links():
        if link.rel != "causes":
            continue
        incident = ctx.tickets[link.id]
        if category_of(ctx.config, incident.plain()) != "open":
            continue
        incident.append("notes", Note(iso(ctx.now), ctx.by,
                                      f"Workaround from {problem.id}: {text}").entry())
        edit.touch(incident)
        told.append(incident.id)
    return told


@dataclass(frozen=True)
class Suggestion:
    kind: str
    value: str
    incidents: tuple[str, ...]

    def record(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "count": len(self.incidents),
                "incidents": ", ".join(self.incidents)}


def suggest(config: DeskConfig, records: list[dict[str, Any]], *, now: datetime,
            window: timedelta, minimum: int) -> list[Suggestion]:
    """CIs and categories with at least `minimum` incidents in the window that no
    problem covers yet: candidates for a problem ticket."""
    since = now - window
    by_ci: dict[str, list[str]] = defaultdict(list)
    by_category: dict[str, list[str]] = defaultdict(list)
    for data in records:
        if data.get("type") != "incident" or not data.get("created"):
            continue
        created = parse_time(str(data["created"]))
        if not since <= created <= now:
            continue
        if any(link.get("rel") == "caused-by" and str(link.get("id", "")).startswith(
                config.types["problem"].prefix + "-") for link in data.get("links") or []):
            continue
        if data.get("ci"):
            by_ci[str(data["ci"])].append(data["id"])
        if data.get("category"):
            by_category[str(data["category"])].append(data["id"])
    out = [Suggestion("ci", key, tuple(sorted(v))) for key, v in by_ci.items()
           if len(v) >= minimum]
    out += [Suggestion("category", key, tuple(sorted(v))) for key, v in by_category.items()
            if len(v) >= minimum]
    return sorted(out, key=lambda s: (-len(s.incidents), s.kind, s.value))
