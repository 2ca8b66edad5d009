"""The verifier: may this change of a desk be committed?

The same rules guard every commit gitdesk makes (store.commit_action) and
every file doctor checks; the hooks and `gitdesk verify` run them over commits
made by other means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitdesk import ids, schema
from gitdesk.config import DeskConfig, Workflow, locate
from gitdesk.errors import InvalidFile
from gitdesk.model import APPEND_ONLY, IMMUTABLE, ticket_path


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
    for i, link in enumerate(data.get("links") or []):
        if config.link_types and link["rel"] not in config.link_types:
            problems.append(Violation(path, "vocabulary", f"links.{i}.rel: unknown {link['rel']!r}",
                                      hint=f"one of: {', '.join(config.link_types)}"))
    return problems


def check_change(config: DeskConfig, path: str, old: Any, new: Any) -> list[Violation]:
    """Rules for one ticket file changed by one commit (old or new may be None)."""
    if new is None:
        if old is None:
            return []
        return [Violation(path, "no-delete", "tickets are never deleted",
                          hint="end a ticket with cancel, close or a duplicate-of link")]
    problems = check_file(config, path, new)
    if problems:
        return problems
    workflow = config.workflow_for(str(new["type"]), new)
    if old is None:
        if new["status"] != workflow.initial:
            problems.append(Violation(path, "workflow",
                                      f"a new {new['type']} starts in {workflow.initial}, "
                                      f"not {new['status']}"))
        return problems + _required(workflow, path, new)
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
        problems += check_transition(workflow, path, str(old.get("status")), new)
    return problems


def check_transition(workflow: Workflow, path: str, source: str, new: Any) -> list[Violation]:
    target = str(new["status"])
    allowed = workflow.allowed(source)
    if target not in allowed:
        choices = ", ".join(allowed) or "none: it is final"
        return [Violation(path, "workflow",
                          f"{new['id']}: cannot move from {source} to {target}",
                          hint=f"from {source} the {workflow.name} workflow allows: {choices}")]
    return _required(workflow, path, new)


def _required(workflow: Workflow, path: str, data: Any) -> list[Violation]:
    state = workflow.states[str(data["status"])]
    missing = [key for key in state.requires if _empty(data.get(key))]
    if not missing:
        return []
    return [Violation(path, "required",
                      f"{data['id']}: {state.name} requires {', '.join(missing)}",
                      hint=REQUIRED_HINTS.get(state.name))]


REQUIRED_HINTS = {
    "resolved": "give --code CODE and -m TEXT (the solution)",
    "pending": "give --reason REASON",
    "assigned": "give an assignee: gitdesk assign ID WHO",
}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
