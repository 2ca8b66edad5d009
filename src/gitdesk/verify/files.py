"""The verifier: may this change of a desk be committed?

The same rules guard every commit gitdesk makes (store.commit_action) and
every file doctor checks; the hooks and `gitdesk verify` run them over commits
made by other means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from gitdesk.domain import ids, schema
from gitdesk.domain.approvals import (
    REVIEWED,
    Approver,
    barred,
    content_hash,
    current_approvers,
    required_levels,
    shortfalls,
)
from gitdesk.domain.config import DeskConfig, Policy, Workflow
from gitdesk.domain.model import APPEND_ONLY, IMMUTABLE, ticket_path
from gitdesk.errors import InvalidFile
from gitdesk.yaml.roundtrip import locate


@dataclass(frozen=True)
class Violation:
    path: str
    rule: str
    message: str
    hint: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.message} [{self.rule}]"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


def check_file(config: DeskConfig, path: str, data: Any) -> list[Violation]:
    """Rules that hold for one ticket file on its own (schema, place, vocabulary)."""
    problems = [Violation(path, "schema", str(e), line=locate(data, e.path))
                for e in schema.validate("ticket", data)]
    if problems:
        return problems
    tid, type_name = str(data["id"]), str(data["type"])
    ticket_type = config.types.get(type_name)
    if ticket_type is None:
        return [Violation(path, "schema", f"type: unknown ticket type {type_name!r}",
                          hint=f"types: {', '.join(config.types)}", line=locate(data, ("type",)))]
    if ticket_path(type_name, tid) != path:
        problems.append(Violation(path, "placement",
                                  f"id {tid} of type {type_name} belongs at "
                                  f"{ticket_path(type_name, tid)}"))
    if ids.ID_RE.match(tid) and tid.partition("-")[0] != ticket_type.prefix:
        problems.append(Violation(path, "placement",
                                  f"id {tid}: {type_name} IDs start with {ticket_type.prefix}-"))
    try:
        workflow = config.workflow_for(type_name, data)
    except InvalidFile as exc:
        return [*problems, Violation(path, "workflow", exc.problems[0])]
    problems += _vocabulary(config, workflow, path, data)
    problems += _sizes(config, path, data)
    return problems


def _vocabulary(config: DeskConfig, workflow: Workflow, path: str,
                data: Any) -> list[Violation]:
    checks: list[tuple[str, tuple[str, ...] | list[str]]] = [
        ("status", tuple(workflow.states)),
        ("priority", tuple(config.priorities)),
        ("impact", config.impacts),
        ("urgency", config.urgencies),
        ("severity", config.severities),
        ("resolution_code", config.resolution_codes),
        ("pending_reason", config.pending_reasons),
    ]
    problems = []
    for key, allowed in checks:
        value = data.get(key)
        if value is not None and allowed and value not in allowed:
            problems.append(Violation(path, "vocabulary", f"{key}: unknown value {value!r}",
                                      hint=f"one of: {', '.join(allowed)}",
                                      line=locate(data, (key,))))
    categories = config.types[str(data["type"])].categories
    category = data.get("category")
    if categories and category is None and data.get("subcategory") is not None:
        problems.append(Violation(path, "vocabulary", "subcategory: set without a category",
                                  hint=f"categories: {', '.join(categories)}",
                                  line=locate(data, ("subcategory",))))
    if categories and category is not None:
        if category not in categories:
            problems.append(Violation(path, "vocabulary", f"category: unknown {category!r}",
                                      hint=f"one of: {', '.join(categories)}",
                                      line=locate(data, ("category",))))
        elif data.get("subcategory") is not None and categories[category] \
                and data["subcategory"] not in categories[category]:
            problems.append(Violation(
                path, "vocabulary", f"subcategory: {data['subcategory']!r} is not in {category}",
                hint=f"one of: {', '.join(categories[category])}",
                line=locate(data, ("subcategory",))))
    problems += _type_vocabulary(config, path, data)
    for i, link in enumerate(data.get("links") or []):
        if config.link_types and link["rel"] not in config.link_types:
            problems.append(Violation(path, "vocabulary", f"links.{i}.rel: unknown {link['rel']!r}",
                                      hint=f"one of: {', '.join(config.link_types)}"))
    return problems


@dataclass(frozen=True)
class Rules:
    """What a change is checked against: the desk's config and policy of the parent."""

    config: DeskConfig
    policy: Policy | None = None
    approvers: Callable[[Any], list[Approver]] = current_approvers


def check_change(rules: Rules, path: str, old: Any, new: Any) -> list[Violation]:
    """Rules for one ticket file changed by one commit (old or new may be None)."""
    config = rules.config
    if new is None:
        if old is None:
            return []
        return [Violation(path, "no-delete", "tickets are never deleted",
                          hint="end a ticket with cancel, close or a duplicate-of link")]
    problems = check_file(config, path, new)
    if problems:
        return problems
    workflow = config.workflow_for(str(new["type"]), new)
    if old is None or content_hash(old) != content_hash(new):
        problems += workflow_choice(config, path, new, created=old is None)
    if old is None:
        if new["status"] != workflow.initial:
            problems.append(Violation(path, "workflow",
                                      f"a new {new['type']} starts in {workflow.initial}, "
                                      f"not {new['status']}"))
        return problems + required_fields(config, workflow, path, new)
    for key in IMMUTABLE:
        if old.get(key) != new.get(key):
            problems.append(Violation(path, "immutable", f"{key} cannot change "
                                      f"({old.get(key)!r} -> {new.get(key)!r})"))
    for key in APPEND_ONLY:
        before, after = list(old.get(key) or []), list(new.get(key) or [])
        if after[:len(before)] != before:
            problems.append(Violation(path, "append-only",
                                      f"{key} are append-only: an existing entry was "
                                      "changed or removed"))
    if old.get("status") != new.get("status"):
        problems += check_transition(rules, workflow, path, str(old.get("status")), new)
    else:
        problems += required_fields(config, workflow, path, new)
        if workflow.authorized(str(new["status"])) and \
                content_hash(old) != content_hash(new):
            problems += approval_gate(rules, path, new, edited=True)
    return problems


def check_transition(rules: Rules, workflow: Workflow, path: str, source: str,
                     new: Any) -> list[Violation]:
    target = str(new["status"])
    allowed = workflow.allowed(source)
    if target not in allowed:
        choices = ", ".join(allowed) or "none: it is final"
        return [Violation(path, "workflow",
                          f"{new['id']}: cannot move from {source} to {target}",
                          hint=f"from {source} the {workflow.name} workflow allows: {choices}")]
    problems = required_fields(rules.config, workflow, path, new)
    if workflow.authorized(target):
        problems += approval_gate(rules, path, new)
    return problems


def approval_gate(rules: Rules, path: str, data: Any, *, edited: bool = False) -> list[Violation]:
    levels = required_levels(rules.config, rules.policy, data)
    given = rules.approvers(data)
    bars = {who: why for who, _group in given if (why := barred(rules.policy, data, who))}
    approvers = [a for a in given if a[0] not in bars]
    missing = [replace(m, candidates=tuple(
        c for c in m.candidates if not barred(rules.policy, data, c)))
        for m in shortfalls(levels, approvers, rules.policy)]
    if not missing:
        return []
    if bars:
        return [Violation(path, "separation",
                          f"{data['id']}: cannot be {data['status']}: "
                          + "; ".join(str(m) for m in missing) + "; "
                          + "; ".join(f"the approval of {who} does not count: {who} {why}"
                                      for who, why in sorted(bars.items())),
                          hint="separation_of_duties in the policy: assign it to someone "
                               "else, or another member of the group approves")]
    if edited:
        return [Violation(path, "approval",
                          f"{data['id']}: reviewed content changed while {data['status']}: "
                          "that voids its approvals; "
                          + "; ".join(str(m) for m in missing),
                          hint="leave the reviewed content as approved; to change the plan, "
                               "cancel the ticket and open a new one for approval")]
    return [Violation(path, "approval",
                      f"{data['id']}: cannot move to {data['status']}: "
                      + "; ".join(str(m) for m in missing),
                      hint="approvers run: gitdesk approve " + str(data["id"]))]


def required_fields(config: DeskConfig, workflow: Workflow, path: str,
                    data: Any) -> list[Violation]:
    state = workflow.states[str(data["status"])]
    missing = [key for key in state.requires if _empty(_value(data, key))]
    ticket_type = config.types.get(str(data["type"]))
    for definition in ticket_type.fields if ticket_type else ():
        if state.name in definition.required_in and \
                _empty((data.get("fields") or {}).get(definition.id)):
            missing.append(f"fields.{definition.id}")
    if not missing:
        return []
    return [Violation(path, "required",
                      f"{data['id']}: {state.name} requires {', '.join(missing)}",
                      hint=REQUIRED_HINTS.get(state.name))]


def _value(data: Any, key: str) -> Any:
    if key.startswith("fields."):
        return (data.get("fields") or {}).get(key[7:])
    return data.get(key)


REQUIRED_HINTS = {
    "resolved": "give --code CODE and -m TEXT (the solution)",
    "pending": "give --reason REASON",
    "assigned": "give an assignee: gitdesk assign ID WHO",
    "authorize": "set the plans, risk and window: gitdesk set CHG-... "
                 "implementation_plan=... backout_plan=... test_plan=... risk=... "
                 "window=START/END",
    "scheduled": "set the window: gitdesk set CHG-... window=START/END",
    "closed": "give the review outcome: --outcome successful|failed",
}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _type_vocabulary(config: DeskConfig, path: str, data: Any) -> list[Violation]:
    problems = []
    request_type = data.get("request_type")
    if request_type is not None and config.catalog and request_type not in config.catalog:
        problems.append(Violation(path, "vocabulary",
                                  f"request_type: {request_type!r} is not in the catalog",
                                  hint=f"catalog: {', '.join(config.catalog)}",
                                  line=locate(data, ("request_type",))))
    outcome = data.get("outcome")
    if outcome is not None and config.outcomes and outcome not in config.outcomes:
        problems.append(Violation(path, "vocabulary", f"outcome: unknown {outcome!r}",
                                  hint=f"one of: {', '.join(config.outcomes)}",
                                  line=locate(data, ("outcome",))))
    ticket_type = config.types[str(data["type"])]
    for key, value in (data.get("fields") or {}).items():
        definition = ticket_type.field(str(key))
        why = definition.problem(value) if definition is not None else None
        if why:
            problems.append(Violation(path, "fields", f"fields.{key}: {why}",
                                      line=locate(data, ("fields", key))))
    window = data.get("window")
    if window and str(window.get("end")) < str(window.get("start")):
        problems.append(Violation(path, "window", "window: end is before start",
                                  line=locate(data, ("window",))))
    return problems


# Keys of a standard change that its template fixes (when the template gives them).
TEMPLATE_KEYS = tuple(k for k in (*REVIEWED, "category", "subcategory") if k != "summary")


def workflow_choice(config: DeskConfig, path: str, data: Any, *,
                    created: bool) -> list[Violation]:
    """The fields that choose a ticket's workflow are checked, not believed: a request's
    approval_required is what its catalog entry says, and a standard change names a
    template of the config and stays within what the template gives."""
    tid = data["id"]
    problems = []
    entry = config.catalog.get(str(data.get("request_type"))) \
        if data.get("type") == "request" else None
    if created and entry is not None and \
            bool(data.get("approval_required")) != entry.needs_approval:
        problems.append(Violation(
            path, "workflow", f"{tid}: approval_required must be "
                              f"{str(entry.needs_approval).lower()}: the catalog's "
                              f"{entry.id} {'needs' if entry.needs_approval else 'needs no'} "
                              "approval", hint="open requests with gitdesk open request",
            line=locate(data, ("approval_required",))))
    if data.get("type") != "change" or data.get("change_type") != "standard":
        return problems
    name = data.get("standard_change")
    template = config.standard_changes.get(str(name)) if name is not None else None
    if template is None:
        known = ", ".join(config.standard_changes) or "none configured"
        return [*problems, Violation(
            path, "workflow", f"{tid}: a standard change is opened from a template of "
                              f"standard_changes, and {name!r} is not one",
            hint=f"templates: {known}; anything else is a normal change",
            line=locate(data, ("standard_change",)))]
    for key in TEMPLATE_KEYS:
        if key in template.values and _same(data.get(key)) != _same(template.values[key]):
            problems.append(Violation(
                path, "workflow", f"{tid}: {key} is not what the standard change {name} "
                                  "gives: a change outside its template is not pre-authorized",
                hint="open it as a normal change (gitdesk open change --change-type normal), "
                     "or ask an admin to add a template", line=locate(data, (key,))))
    return problems


def _same(value: Any) -> Any:
    return [str(v) for v in value] if isinstance(value, list) else \
        (str(value) if value is not None else None)


def _sizes(config: DeskConfig, path: str, data: Any) -> list[Violation]:
    """Text values stay within the config's limits.text_bytes."""
    limit = config.limits.text_bytes
    problems = []
    for key, value in _texts(data, ()):
        if len(value) * 4 > limit and len(value.encode("utf-8")) > limit:
            where = ".".join(str(k) for k in key)
            problems.append(Violation(path, "size", f"{where}: {len(value.encode()):,} bytes; "
                                      f"a text value takes up to {limit:,} (limits.text_bytes)",
                                      hint="attach large logs elsewhere and link to them",
                                      line=locate(data, key)))
    return problems


def _texts(value: Any, key: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(v, (*key, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _texts(v, (*key, i))


def blob_size(config: DeskConfig, path: str, size: int) -> list[Violation]:
    """A ticket file stays within the config's limits.ticket_bytes."""
    limit = config.limits.ticket_bytes
    if size <= limit:
        return []
    return [Violation(path, "size", f"{size:,} bytes; a ticket file takes up to {limit:,} "
                                    "(limits.ticket_bytes)",
                      hint="keep long texts short, or raise limits.ticket_bytes in "
                           ".gitdesk/config.yaml")]
