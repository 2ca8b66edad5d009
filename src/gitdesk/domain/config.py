"""Desk definitions (.gitdesk/config.yaml) and policy (.gitdesk/policy.yaml).

The records the desk's rules are read from, built from plain data, and the
consistency checks (a transition to an unknown state, a matrix with a missing
cell) that follow the schema check; verify.configs parses the files and turns
problems into messages that name the file, line and key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from gitdesk.domain import fields as custom
from gitdesk.domain.catalog import RequestType, RiskModel, StandardChange, parse_catalog, parse_risk
from gitdesk.domain.fields import CustomField
from gitdesk.errors import InvalidFile

DESK_DIR = ".gitdesk/"  # the desk's own files: config, policy, keys, templates
CONFIG_PATH = ".gitdesk/config.yaml"
POLICY_PATH = ".gitdesk/policy.yaml"
CATEGORIES = ("open", "resolved", "closed")


@dataclass(frozen=True)
class State:
    name: str
    category: str
    requires: tuple[str, ...] = ()
    approval: bool = False  # entering it needs satisfied approval levels


@dataclass(frozen=True)
class Workflow:
    name: str
    initial: str
    states: dict[str, State]
    transitions: dict[str, tuple[str, ...]]
    shortcuts: dict[str, str]

    def allowed(self, status: str) -> tuple[str, ...]:
        return self.transitions.get(status, ())

    def category(self, status: str) -> str | None:
        state = self.states.get(status)
        return state.category if state else None

    def authorized(self, status: str) -> bool:
        """Whether an open state lies at or after an approval gate: a ticket there must
        keep its approval levels satisfied on its current content. In a workflow with
        no approval state, leaving the initial state is the gate: an approval rule
        that selects a ticket holds whatever workflow the ticket follows."""
        if self.category(status) != "open":
            return False
        seen = [s for s, st in self.states.items() if st.approval]
        if not seen:
            return status != self.initial
        queue = list(seen)
        while queue:
            for target in self.transitions.get(queue.pop(), ()):
                if target not in seen and self.category(target) == "open":
                    seen.append(target)
                    queue.append(target)
        return status in seen


@dataclass(frozen=True)
class WorkflowChoice:
    """A type whose workflow depends on a field (a change's change_type)."""

    field: str
    default: str | None
    map: dict[str, str]


@dataclass(frozen=True)
class TicketType:
    name: str
    prefix: str
    title: str
    workflow: str | WorkflowChoice
    categories: dict[str, tuple[str, ...]]
    fields: tuple[CustomField, ...] = ()
    due: bool = True  # due = opened + the priority's target

    def field(self, field_id: str) -> CustomField | None:
        return next((f for f in self.fields if f.id == field_id), None)


@dataclass(frozen=True)
class Priority:
    name: str
    target: timedelta | None


@dataclass(frozen=True)
class Limits:
    """How large a ticket may grow (config `limits`): its file, one text value in it."""

    ticket_bytes: int = 256 * 1024
    text_bytes: int = 64 * 1024


@dataclass(frozen=True)
class DeskConfig:
    types: dict[str, TicketType]
    workflows: dict[str, Workflow]
    priorities: dict[str, Priority]
    default_priority: str | None
    impacts: tuple[str, ...]
    urgencies: tuple[str, ...]
    matrix: dict[str, dict[str, str]]
    severities: tuple[str, ...]
    resolution_codes: tuple[str, ...]
    pending_reasons: tuple[str, ...]
    link_types: dict[str, str]
    catalog: dict[str, RequestType] = field(default_factory=dict)
    standard_changes: dict[str, StandardChange] = field(default_factory=dict)
    risk: RiskModel | None = None
    outcomes: tuple[str, ...] = ()
    limits: Limits = field(default_factory=lambda: Limits())
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def type_for_prefix(self, prefix: str) -> TicketType | None:
        for ticket_type in self.types.values():
            if ticket_type.prefix == prefix:
                return ticket_type
        return None

    def workflow_for(self, type_name: str, data: dict[str, Any] | Any) -> Workflow:
        choice = self.types[type_name].workflow
        if isinstance(choice, str):
            return self.workflows[choice]
        key = data.get(choice.field) if hasattr(data, "get") else None
        key = key if key is not None else choice.default
        if isinstance(key, bool):
            key = "true" if key else "false"
        name = choice.map.get(str(key)) if key is not None else None
        if name is None:
            valid = ", ".join(choice.map)
            raise InvalidFile(CONFIG_PATH, [
                f"types.{type_name}.workflow: no workflow for {choice.field}={key!r} "
                f"(known: {valid})"])
        return self.workflows[name]

    def derive_priority(self, impact: str | None, urgency: str | None) -> str | None:
        if impact is None or urgency is None:
            return self.default_priority
        return self.matrix.get(impact, {}).get(urgency, self.default_priority)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str | None
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    name: str
    members: tuple[str, ...]
    manager: str | None
    escalation: tuple[str, ...] = ()
    notify: str | None = None  # an address for approval requests (a list, say)

    def escalation_contact(self, level: int) -> str | None:
        """Who a hierarchic escalation to `level` (1, 2, ...) goes to."""
        chain = self.escalation or ((self.manager,) if self.manager else ())
        if not chain:
            return None
        return chain[min(level, len(chain)) - 1]


@dataclass(frozen=True)
class Policy:
    people: dict[str, Person]
    groups: dict[str, Group]
    admins: tuple[str, ...]
    rules: tuple[dict[str, Any], ...]
    separation: tuple[str, ...] = ()  # requester, implementer: who may not approve

    def person_by_email(self, email: str) -> Person | None:
        for person in self.people.values():
            if person.email and person.email.lower() == email.lower():
                return person
        return None


_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(m|min|h|d|w)$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 8h, 2d, 1w)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def build_config(raw: dict[str, Any]) -> DeskConfig:
    """The config from its plain data, which config_problems found consistent."""
    workflows = {}
    for name, wf in raw["workflows"].items():
        states = {s: State(s, spec["category"], tuple(spec.get("requires", [])),
                           bool(spec.get("approval", False)))
                  for s, spec in wf["states"].items()}
        workflows[name] = Workflow(
            name=name, initial=wf["initial"], states=states,
            transitions={k: tuple(v) for k, v in wf["transitions"].items()},
            shortcuts=dict(wf.get("shortcuts", {})))
    types = {}
    for name, spec in raw["types"].items():
        wf_spec = spec["workflow"]
        choice: str | WorkflowChoice = wf_spec if isinstance(wf_spec, str) else WorkflowChoice(
            field=wf_spec["field"], default=wf_spec.get("default"), map=dict(wf_spec["map"]))
        types[name] = TicketType(
            name=name, prefix=spec["prefix"], title=spec.get("title", name.title()),
            workflow=choice,
            categories={k: tuple(v) for k, v in (spec.get("categories") or {}).items()},
            fields=tuple(CustomField.from_raw(f) for f in spec.get("fields", [])),
            due=bool(spec.get("due", True)))
    priorities = {name: Priority(name, parse_duration(p["target"]) if p.get("target") else None)
                  for name, p in raw["priorities"].items()}
    return DeskConfig(
        types=types, workflows=workflows, priorities=priorities,
        default_priority=raw.get("default_priority"),
        impacts=tuple(raw.get("impacts", [])), urgencies=tuple(raw.get("urgencies", [])),
        matrix={k: dict(v) for k, v in (raw.get("priority_matrix") or {}).items()},
        severities=tuple(raw.get("severities", [])),
        resolution_codes=tuple(raw.get("resolution_codes", [])),
        pending_reasons=tuple(raw.get("pending_reasons", [])),
        link_types=dict(raw.get("link_types", {})),
        catalog=parse_catalog(raw.get("request_catalog") or {}, parse_duration),
        standard_changes={k: StandardChange(k, dict(v))
                          for k, v in (raw.get("standard_changes") or {}).items()},
        risk=parse_risk(raw.get("risk_questionnaire")),
        outcomes=tuple(raw.get("change_outcomes", [])),
        limits=Limits(**(raw.get("limits") or {})), raw=raw)


Problem = tuple[tuple[str | int, ...], str]


def config_problems(raw: dict[str, Any]) -> list[Problem]:
    """What is inconsistent in a schema-valid config: unknown states, workflows,
    priorities, a matrix with a missing cell, one-sided link types."""
    errors: list[Problem] = []
    for name, wf in raw["workflows"].items():
        errors += _workflow_problems(name, wf)
    errors += _type_problems(raw)
    errors += _priority_problems(raw)
    errors += _catalog_problems(raw)
    links = raw.get("link_types", {})
    for rel, inverse in links.items():
        if links.get(inverse) != rel:
            errors.append((("link_types", rel),
                           f"inverse {inverse!r} must be declared with inverse {rel!r}"))
    return errors


def _workflow_problems(name: str, wf: dict[str, Any]) -> list[Problem]:
    errors: list[Problem] = []
    states = wf["states"]
    base: tuple[str | int, ...] = ("workflows", name)
    if wf["initial"] not in states:
        errors.append(((*base, "initial"), f"unknown state {wf['initial']!r}"))
    for source, targets in wf["transitions"].items():
        if source not in states:
            errors.append(((*base, "transitions", source), f"unknown state {source!r}"))
        for target in targets:
            if target not in states:
                errors.append(((*base, "transitions", source),
                               f"unknown state {target!r} (states: {', '.join(states)})"))
    for shortcut, target in wf.get("shortcuts", {}).items():
        if target not in states:
            errors.append(((*base, "shortcuts", shortcut), f"unknown state {target!r}"))
    return errors


def _type_problems(raw: dict[str, Any]) -> list[Problem]:
    errors: list[Problem] = []
    prefixes: dict[str, str] = {}
    for name, spec in raw["types"].items():
        if spec["prefix"] in prefixes:
            errors.append((("types", name, "prefix"),
                           f"prefix {spec['prefix']!r} is also used by {prefixes[spec['prefix']]}"))
        prefixes[spec["prefix"]] = name
        errors += _field_problems(raw, name, spec)
        wf = spec["workflow"]
        names = [wf] if isinstance(wf, str) else list(wf["map"].values())
        for wf_name in names:
            if wf_name not in raw["workflows"]:
                errors.append((("types", name, "workflow"), f"unknown workflow {wf_name!r}"))
        if isinstance(wf, dict) and wf.get("default") is not None \
                and wf["default"] not in wf["map"]:
            errors.append((("types", name, "workflow", "default"),
                           f"{wf['default']!r} is not a key of map"))
    return errors


def _type_states(raw: dict[str, Any], spec: dict[str, Any]) -> set[str]:
    wf = spec["workflow"]
    names = [wf] if isinstance(wf, str) else list(wf["map"].values())
    states: set[str] = set()
    for wf_name in names:
        states |= set(raw["workflows"].get(wf_name, {}).get("states", {}))
    return states


def _field_problems(raw: dict[str, Any], name: str, spec: dict[str, Any]) -> list[Problem]:
    errors: list[Problem] = []
    states = _type_states(raw, spec)
    seen: set[str] = set()
    for i, definition in enumerate(spec.get("fields", [])):
        base: tuple[str | int, ...] = ("types", name, "fields", i)
        if definition["id"] in seen:
            errors.append(((*base, "id"), f"field {definition['id']!r} is declared twice"))
        seen.add(definition["id"])
        for sub_path, message in custom.definition_problems(definition):
            errors.append(((*base, *sub_path), message))
        for state in definition.get("required_in", []):
            if state not in states:
                errors.append(((*base, "required_in"), f"unknown state {state!r}"))
    return errors


def _catalog_problems(raw: dict[str, Any]) -> list[Problem]:
    errors: list[Problem] = []
    for rid, spec in (raw.get("request_catalog") or {}).items():
        try:
            if spec.get("target"):
                parse_duration(spec["target"])
        except ValueError as exc:
            errors.append((("request_catalog", rid, "target"), str(exc)))
    for sid, spec in (raw.get("standard_changes") or {}).items():
        for key in spec:
            if key not in STANDARD_CHANGE_KEYS:
                errors.append((("standard_changes", sid, key),
                               f"not a change field (known: {', '.join(STANDARD_CHANGE_KEYS)})"))
    return errors


STANDARD_CHANGE_KEYS = ("summary", "description", "category", "subcategory", "ci", "cis",
                        "services", "risk", "implementation_plan", "backout_plan", "test_plan",
                        "group", "assignee", "duration")


def _priority_problems(raw: dict[str, Any]) -> list[Problem]:
    errors: list[Problem] = []
    priorities = raw["priorities"]
    default = raw.get("default_priority")
    if default is not None and default not in priorities:
        errors.append((("default_priority",), f"unknown priority {default!r}"))
    matrix = raw.get("priority_matrix") or {}
    for impact in raw.get("impacts", []):
        row = matrix.get(impact)
        if row is None:
            errors.append((("priority_matrix",), f"missing row for impact {impact!r}"))
            continue
        for urgency in raw.get("urgencies", []):
            if urgency not in row:
                errors.append((("priority_matrix", impact),
                               f"missing cell for urgency {urgency!r}"))
    for impact, row in matrix.items():
        if impact not in raw.get("impacts", []):
            errors.append((("priority_matrix", impact), f"unknown impact {impact!r}"))
        for urgency, priority in row.items():
            if urgency not in raw.get("urgencies", []):
                errors.append((("priority_matrix", impact, urgency),
                               f"unknown urgency {urgency!r}"))
            if priority not in priorities:
                errors.append((("priority_matrix", impact, urgency),
                               f"unknown priority {priority!r}"))
    return errors


def policy_problems(raw: dict[str, Any]) -> list[Problem]:
    """What is inconsistent in a schema-valid policy: unknown people and groups."""
    errors: list[Problem] = []
    people = raw["people"]
    for gname, group in raw["groups"].items():
        for i, member in enumerate(group["members"]):
            if member not in people:
                errors.append((("groups", gname, "members", i), f"unknown person {member!r}"))
        if group.get("manager") and group["manager"] not in people:
            errors.append((("groups", gname, "manager"), f"unknown person {group['manager']!r}"))
        for i, person in enumerate(group.get("escalation", [])):
            if person not in people:
                errors.append((("groups", gname, "escalation", i), f"unknown person {person!r}"))
    for i, rule in enumerate(raw.get("rules", [])):
        for j, level in enumerate(rule.get("require", [])):
            if level["group"] not in raw["groups"]:
                errors.append((("rules", i, "require", j, "group"),
                               f"unknown group {level['group']!r}"))
    for i, admin in enumerate(raw["admins"]):
        if admin not in people:
            errors.append((("admins", i), f"unknown person {admin!r}"))
    return errors


def build_policy(raw: dict[str, Any]) -> Policy:
    people = raw["people"]
    return Policy(
        people={pid: Person(pid, p["name"], p.get("email"), tuple(p.get("keys", [])))
                for pid, p in people.items()},
        groups={g: Group(g, tuple(s["members"]), s.get("manager"),
                         tuple(s.get("escalation", [])), s.get("notify"))
                for g, s in raw["groups"].items()},
        admins=tuple(raw["admins"]), rules=tuple(raw.get("rules", [])),
        separation=tuple(raw.get("separation_of_duties", [])))
