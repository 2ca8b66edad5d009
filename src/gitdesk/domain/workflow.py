"""State machines, shortcuts, priority matrix and due times: the desk's rules as data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gitdesk.domain.config import DeskConfig, Workflow
from gitdesk.errors import RuleViolation, UsageError

SHORTCUTS = ("resolve", "close", "reopen", "cancel")


def target_state(workflow: Workflow, name: str) -> str:
    """A state name, or the state a shortcut (resolve, close, ...) stands for."""
    if name in workflow.states:
        return name
    if name in workflow.shortcuts:
        return workflow.shortcuts[name]
    known = ", ".join(workflow.states)
    raise RuleViolation(f"{name!r} is not a state of the {workflow.name} workflow",
                        hint=f"states: {known}")


def check_move(workflow: Workflow, ticket_id: str, source: str, target: str) -> None:
    allowed = workflow.allowed(source)
    if target not in allowed:
        choices = ", ".join(allowed) or "none: it is final"
        raise RuleViolation(f"{ticket_id}: cannot move from {source} to {target}",
                            hint=f"from {source} the {workflow.name} workflow allows: {choices}")


def derive_priority(config: DeskConfig, data: Any) -> str | None:
    return config.derive_priority(data.get("impact"), data.get("urgency"))


def due_time(config: DeskConfig, priority: str | None, created: datetime) -> datetime | None:
    if priority is None or priority not in config.priorities:
        return None
    target = config.priorities[priority].target
    return created + target if target is not None else None


def check_choice(config_values: tuple[str, ...], value: str | None, flag: str) -> None:
    if value is not None and config_values and value not in config_values:
        raise UsageError(f"{flag}: {value!r} is not one of: {', '.join(config_values)}")
