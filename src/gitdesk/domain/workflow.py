"""State machines, shortcuts, priority matrix and due times; what entering a state does."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitdesk.domain.config import DeskConfig, Workflow
from gitdesk.domain.model import Ticket
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


@dataclass(frozen=True)
class Entry:
    """What entering a state is given: a resolution code and solution (resolved
    states), a pending reason, a change's review outcome."""

    code: str | None = None
    solution: str | None = None
    reason: str | None = None
    outcome: str | None = None


def enter_state(config: DeskConfig, workflow: Workflow, ticket: Ticket, target: str,
                given: Entry) -> str:
    """Move the ticket to target with what the state asks for; returns the verb that
    names the move (a shortcut such as resolve, or the state).

    A resolved state needs a resolution code and a solution (given, or kept from
    before); going back to an open state from a resolved or closed one clears
    them; a pending state takes the reason and any other state drops it; a state
    that requires an outcome takes one from the configured outcomes. The caller
    has checked that the workflow allows the move."""
    source = ticket.status
    category = workflow.category(target)
    state = workflow.states[target]
    if category == "resolved":
        _resolution(config, ticket, given)
    if target == "pending" or "pending_reason" in state.requires:
        check_choice(config.pending_reasons, given.reason, "--reason")
        if given.reason:
            ticket.set("pending_reason", given.reason)
    elif ticket.get("pending_reason") is not None:
        ticket.unset("pending_reason")
    if category == "open" and workflow.category(source) != "open":
        ticket.unset("resolution_code")
        ticket.unset("solution")
    if "outcome" in state.requires or given.outcome is not None:
        check_choice(config.outcomes, given.outcome, "--outcome")
        if given.outcome:
            ticket.set("outcome", given.outcome)
    ticket.set("status", target)
    return next((k for k, v in workflow.shortcuts.items() if v == target and
                 (k != "reopen" or workflow.category(source) != "open")), target)


def _resolution(config: DeskConfig, ticket: Ticket, given: Entry) -> None:
    if given.code is None and ticket.get("resolution_code") is None:
        codes = ", ".join(config.resolution_codes)
        raise RuleViolation(f"{ticket.id}: resolving needs a resolution code (--code)",
                            hint=f"codes: {codes}")
    if given.code is not None:
        if config.resolution_codes and given.code not in config.resolution_codes:
            raise RuleViolation(f"--code: {given.code!r} is not a resolution code",
                                hint=f"codes: {', '.join(config.resolution_codes)}")
        ticket.set("resolution_code", given.code)
    if not given.solution and not ticket.get("solution"):
        raise RuleViolation(f"{ticket.id}: resolving needs a note saying what was done (-m TEXT)")
    if given.solution:
        ticket.set("solution", given.solution)


def shortest_path(workflow: Workflow, source: str, target: str) -> list[str] | None:
    """States to go through (target last) along the workflow's transitions, never
    through an approval gate; [] if already there, None if there is no way."""
    if source == target:
        return []
    if source not in workflow.states or target not in workflow.states:
        return None
    queue = deque([source])
    previous: dict[str, str] = {source: source}
    while queue:
        state = queue.popleft()
        for nxt in workflow.allowed(state):
            if nxt in previous or workflow.states[nxt].approval:
                continue
            previous[nxt] = state
            if nxt == target:
                path = [nxt]
                while previous[path[-1]] != source:
                    path.append(previous[path[-1]])
                return list(reversed(path))
            queue.append(nxt)
    return None


def reachable(workflow: Workflow, source: str, target: str) -> bool:
    """Whether target can follow source through the workflow's transitions (any number
    of moves, approval gates included: passing one is checked on its own)."""
    seen = {source}
    queue = deque([source])
    while queue:
        state = queue.popleft()
        if state == target:
            return True
        for nxt in workflow.allowed(state):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return False
