"""The service request catalog, standard change templates and the risk questionnaire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class Level:
    """One approval level: `count` approvals from members of `group`."""

    group: str
    count: int = 1


@dataclass(frozen=True)
class RequestType:
    id: str
    name: str
    description: str
    required: tuple[str, ...]
    group: str | None
    target: timedelta | None
    approvals: tuple[Level, ...]
    category: str | None = None

    @property
    def needs_approval(self) -> bool:
        return bool(self.approvals)


@dataclass(frozen=True)
class StandardChange:
    id: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    weight: int


@dataclass(frozen=True)
class RiskModel:
    questions: tuple[Question, ...]
    medium: int
    high: int

    def level(self, answers: dict[str, bool]) -> tuple[str, int]:
        score = sum(q.weight for q in self.questions if answers.get(q.id))
        if score >= self.high:
            return "high", score
        if score >= self.medium:
            return "medium", score
        return "low", score


def parse_catalog(raw: dict[str, Any], parse_duration: Any) -> dict[str, RequestType]:
    catalog = {}
    for rid, spec in (raw or {}).items():
        catalog[rid] = RequestType(
            id=rid, name=spec.get("name", rid), description=spec.get("description", ""),
            required=tuple(spec.get("required", [])), group=spec.get("group"),
            target=parse_duration(spec["target"]) if spec.get("target") else None,
            approvals=tuple(Level(a["group"], int(a.get("count", 1)))
                            for a in spec.get("approvals", [])),
            category=spec.get("category"))
    return catalog


def parse_risk(raw: dict[str, Any] | None) -> RiskModel | None:
    if not raw:
        return None
    return RiskModel(
        questions=tuple(Question(q["id"], q["text"], int(q.get("weight", 1)))
                        for q in raw["questions"]),
        medium=int(raw["thresholds"]["medium"]), high=int(raw["thresholds"]["high"]))
