"""Incident management: escalation, parent and child incidents, a CI's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gitdesk.domain.clock import iso
from gitdesk.domain.config import Policy
from gitdesk.domain.edits import Context, Edit
from gitdesk.domain.model import Flow, Note, Ticket
from gitdesk.domain.query import category_of
from gitdesk.domain.workflow import Entry, check_move, enter_state
from gitdesk.errors import RuleViolation, UsageError


def escalate_functional(policy: Policy, ticket: Ticket, group: str, text: str, who: str,
                        now: datetime, *, assignee: str | None = None,
                        needs_assignee: bool = False) -> str:
    """Reassign to another group; the trail keeps where it came from.

    The old assignee is cleared; a state that needs an assignee needs the new
    group's person named with --assignee.
    """
    if group not in policy.groups:
        raise UsageError(f"--to: {group!r} is not a group of the policy",
                         hint=f"groups: {', '.join(policy.groups)}")
    previous = ticket.get("group")
    if previous == group:
        raise RuleViolation(f"{ticket.id} is already with group {group}")
    if assignee is not None and assignee not in policy.groups[group].members:
        members = ", ".join(policy.groups[group].members) or "nobody yet"
        raise UsageError(f"--assignee: {assignee!r} is not a member of {group}",
                         hint=f"members of {group}: {members}")
    if assignee is None and needs_assignee:
        members = ", ".join(policy.groups[group].members) or "nobody yet"
        raise RuleViolation(f"{ticket.id} is {ticket.status}, which needs an assignee: "
                            f"name the person in {group} with --assignee",
                            hint=f"members of {group}: {members}")
    ticket.set("group", group)
    if assignee is not None:
        ticket.set("assignee", assignee)
    else:
        ticket.unset("assignee")
    ticket.append("events", Flow({
        "at": iso(now), "by": who, "kind": "functional-escalation",
        "from": str(previous or ""), "to": group, "text": text}))
    return f"escalate — to {group}: {text}"


def escalate_hierarchic(policy: Policy, ticket: Ticket, text: str, who: str,
                        now: datetime) -> str:
    """Raise the escalation level and name the manager the group's config gives."""
    group_name = ticket.get("group")
    if not group_name or group_name not in policy.groups:
        raise RuleViolation(f"{ticket.id} has no assignment group to escalate within",
                            hint="assign a group first: gitdesk assign ID WHO --group G")
    escalation = ticket.get("escalation") or {}
    level = int(escalation.get("level", 0)) + 1
    manager = policy.groups[group_name].escalation_contact(level)
    if manager is None:
        raise RuleViolation(f"group {group_name} names no manager to escalate to",
                            hint="set `manager` (or an `escalation` chain) for the group in "
                                 ".gitdesk/policy.yaml")
    ticket.set("escalation", Flow({"level": level, "manager": manager}))
    ticket.append("events", Flow({
        "at": iso(now), "by": who, "kind": "hierarchic-escalation", "to": manager,
        "level": level, "text": text}))
    return f"escalate — level {level} to {manager}: {text}"


def escalated(data: dict[str, Any]) -> bool:
    return bool((data.get("escalation") or {}).get("level")) or any(
        str(e.get("kind", "")).endswith("escalation") for e in data.get("events") or [])


def resolve_children(ctx: Context, edit: Edit, parent: Ticket) -> list[str]:
    """Resolve the open children of a parent that is being resolved, same commit."""
    config = ctx.config
    done = []
    for link in parent.links():
        if link.rel != "child":
            continue
        child = ctx.tickets[link.id]
        if category_of(config, child.plain()) != "open":
            continue
        workflow = config.workflow_for(child.type, child.data)
        target = workflow.shortcuts.get("resolve")
        if target is None:
            raise RuleViolation(f"{child.id}: its workflow has no resolve state")
        check_move(workflow, child.id, child.status, target)
        solution = f"Resolved with parent {parent.id}: {parent.get('solution')}"
        enter_state(config, workflow, child, target,
                    Entry(code=parent.get("resolution_code"), solution=solution))
        child.append("notes", Note(iso(ctx.now), ctx.by,
                                   f"Resolved together with parent {parent.id}").entry())
        edit.touch(child)
        done.append(child.id)
    return done


def ci_history(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Every ticket of every type that names the CI, newest first."""
    wanted = name.lower()
    found = [r for r in records
             if wanted in {str(c).lower() for c in [r.get("ci"), *(r.get("cis") or [])] if c}]
    return sorted(found, key=lambda r: (str(r.get("created") or ""), r["id"]), reverse=True)
