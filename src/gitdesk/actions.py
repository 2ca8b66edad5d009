"""Ticket actions: each one a function that writes exactly one commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitdesk import gitio, ids, yamlio
from gitdesk.config import DeskConfig
from gitdesk.errors import RuleViolation, UsageError
from gitdesk.model import Link, Note, Ticket, new_ticket, ticket_path
from gitdesk.store import Change, Desk, Snapshot, Written, iso
from gitdesk.workflow import check_choice, check_move, derive_priority, due_time, target_state

SETTABLE = ("summary", "description", "impact", "urgency", "priority", "severity", "major",
            "category", "subcategory", "ci", "assignee", "group", "submitter", "due",
            "symptom", "root_cause", "workaround", "known_error", "risk",
            "implementation_plan", "backout_plan", "test_plan", "cis", "services")
BOOLEAN = ("major", "known_error")
LISTS = ("cis", "services")
FLAGS = {"impact": "--impact", "urgency": "--urgency", "priority": "--priority",
         "severity": "--severity"}


def actor(snap: Snapshot, author: gitio.Identity) -> str:
    """The policy person id of the author (by email), else git's author name."""
    try:
        person = snap.policy.person_by_email(author.email)
    except Exception:  # a desk without a usable policy still records notes
        person = None
    return person.id if person else author.name


def parse_person(text: str) -> dict[str, str]:
    """'Name <email>' or 'Name' or 'email' as a submitter mapping."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, email = text[:-1].partition("<")
        return {"name": name.strip() or email.strip(), "email": email.strip()}
    if "@" in text and " " not in text:
        return {"name": text, "email": text}
    return {"name": text}


@dataclass
class OpenRequest:
    type_name: str
    summary: str
    description: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)


def open_ticket(desk: Desk, request: OpenRequest) -> Written:
    def build(snap: Snapshot, now: datetime, author: gitio.Identity) -> Change:
        config = snap.config
        ticket_type = config.types.get(request.type_name)
        if ticket_type is None:
            raise UsageError(f"unknown ticket type {request.type_name!r}",
                             hint=f"types: {', '.join(config.types)}")
        _check_values(config, request.values)
        uid, tid = _mint(snap, ticket_type.prefix, ticket_type.name, now)
        values = dict(request.values)
        priority = values.get("priority")
        if priority is None:
            values["priority"] = derive_priority(config, values)
        else:
            values["priority_override"] = True
        if isinstance(values.get("submitter"), str):
            values["submitter"] = yamlio.flow_map(parse_person(values["submitter"]))
        due = due_time(config, values["priority"], now)
        data: dict[str, Any] = {
            "id": tid, "uid": uid, "type": ticket_type.name, "summary": request.summary,
            "description": request.description or None, **values,
            "created": iso(now), "due": iso(due) if due else None,
            "links": yamlio.seq(), "fields": yamlio.flow_map(dict(request.fields)),
            "notes": yamlio.seq(),
        }
        workflow = config.workflow_for(ticket_type.name, data)
        data["status"] = workflow.initial
        ticket = new_ticket(data, ticket_path(ticket_type.name, tid))
        change = Change(subject=f"{tid}: open — {request.summary}", action="open")
        change.put(ticket)
        for rel, other in request.links:
            _link(snap, change, ticket, rel, other)
        return change

    return desk.commit(build)


def _check_values(config: DeskConfig, values: dict[str, Any]) -> None:
    check_choice(config.impacts, values.get("impact"), "--impact")
    check_choice(config.urgencies, values.get("urgency"), "--urgency")
    check_choice(tuple(config.priorities), values.get("priority"), "--priority")
    check_choice(config.severities, values.get("severity"), "--severity")


def _mint(snap: Snapshot, prefix: str, type_name: str, now: datetime) -> tuple[str, str]:
    for _ in range(16):
        uid = ids.ulid(int(now.timestamp() * 1000))
        tid = ids.ticket_id(prefix, uid)
        if snap.read(ticket_path(type_name, tid)) is None:
            return uid, tid
    raise RuleViolation("could not mint a free ticket ID (16 collisions in a row)")


def _edit(desk: Desk, query: str, verb: str,
          apply: Any) -> Written:
    """Load one ticket at the tip, let apply() change it, commit it."""
    def build(snap: Snapshot, now: datetime, author: gitio.Identity) -> Change:
        ticket = snap.ticket(query)
        change = Change(subject="", action=verb)
        subject = apply(snap, ticket, now, actor(snap, author), change)
        change.subject = f"{ticket.id}: {subject}"
        change.put(ticket)
        return change

    return desk.commit(build)


def add_note(desk: Desk, query: str, *, text: str, internal: bool = False) -> Written:
    if not text.strip():
        raise UsageError("the note is empty (-m TEXT)")

    def apply(snap: Snapshot, ticket: Ticket, now: datetime, who: str, change: Change) -> str:
        ticket.append("notes", Note(iso(now), who, text, internal).to_yaml())
        return f"note — {text}"

    return _edit(desk, query, "note", apply)


def assign(desk: Desk, query: str, *, who: str, group: str | None = None) -> Written:
    def apply(snap: Snapshot, ticket: Ticket, now: datetime, by: str, change: Change) -> str:
        policy = snap.policy
        if who not in policy.people:
            raise RuleViolation(f"{who!r} is not a person of the desk's policy",
                                hint=f"people: {', '.join(policy.people)}")
        if group is not None and group not in policy.groups:
            raise RuleViolation(f"--group: {group!r} is not a group of the policy",
                                hint=f"groups: {', '.join(policy.groups)}")
        ticket.set("assignee", who)
        if group is not None:
            ticket.set("group", group)
        workflow = snap.config.workflow_for(ticket.type, ticket.data)
        if "assigned" in workflow.states and "assigned" in workflow.allowed(ticket.status) \
                and ticket.status == workflow.initial:
            change.trailers += [("Gitdesk-From", ticket.status), ("Gitdesk-To", "assigned")]
            ticket.set("status", "assigned")
        return f"assign — {who}" + (f" ({group})" if group else "")

    return _edit(desk, query, "assign", apply)


def set_values(desk: Desk, query: str, *, values: dict[str, str],
               fields: dict[str, str] | None = None) -> Written:
    for key in values:
        if key not in SETTABLE:
            hint = "use transition for status, note for notes, link for links" \
                if key in ("status", "notes", "links") else f"settable: {', '.join(SETTABLE)}"
            raise UsageError(f"{key!r} cannot be set", hint=hint)

    def apply(snap: Snapshot, ticket: Ticket, now: datetime, by: str, change: Change) -> str:
        config = snap.config
        _check_values(config, {k: v for k, v in values.items() if v})
        for key, text in values.items():
            value = _coerce(key, text)
            if value is None:
                ticket.unset(key)
            else:
                ticket.set(key, value)
        if "priority" in values:
            ticket.set("priority_override", True) if values["priority"] \
                else ticket.unset("priority_override")
        if not ticket.get("priority_override"):
            priority = derive_priority(config, ticket.data)
            if priority is not None:
                ticket.set("priority", priority)
        _refresh_due(config, ticket, explicit="due" in values)
        for key, text in (fields or {}).items():
            custom = ticket.get("fields")
            if custom is None:
                custom = yamlio.flow_map({})
                ticket.set("fields", custom)
            custom[key] = text
        shown = ", ".join(f"{k}={v}" for k, v in {**values, **(fields or {})}.items())
        return f"set — {shown}"

    return _edit(desk, query, "set", apply)


def _coerce(key: str, text: str) -> Any:
    if text == "":
        return None
    if key in BOOLEAN:
        lowered = text.lower()
        if lowered not in ("true", "false", "yes", "no"):
            raise UsageError(f"{key}: expected true or false, not {text!r}")
        return lowered in ("true", "yes")
    if key in LISTS:
        return yamlio.seq([item.strip() for item in text.split(",") if item.strip()])
    if key == "submitter":
        return yamlio.flow_map(parse_person(text))
    if key == "due":
        from gitdesk.store import parse_time

        try:
            return iso(parse_time(text))
        except ValueError as exc:
            raise UsageError(f"due: {text!r} is not a date-time like 2026-11-25T17:00:00Z") \
                from exc
    return text


def _refresh_due(config: DeskConfig, ticket: Ticket, *, explicit: bool) -> None:
    if explicit:
        return
    from gitdesk.store import parse_time

    due = due_time(config, ticket.get("priority"), parse_time(str(ticket.get("created"))))
    if due is not None:
        ticket.set("due", iso(due))
    else:
        ticket.unset("due")


@dataclass(frozen=True)
class Move:
    target: str
    message: str | None = None
    code: str | None = None
    reason: str | None = None
    internal: bool = False


def transition(desk: Desk, query: str, move: Move) -> Written:
    def apply(snap: Snapshot, ticket: Ticket, now: datetime, by: str, change: Change) -> str:
        config = snap.config
        workflow = config.workflow_for(ticket.type, ticket.data)
        source = ticket.status
        target = target_state(workflow, move.target)
        check_move(workflow, ticket.id, source, target)
        category = workflow.category(target)
        if category == "resolved":
            _resolve_fields(config, ticket, move)
        if target == "pending" or "pending_reason" in workflow.states[target].requires:
            check_choice(config.pending_reasons, move.reason, "--reason")
            if move.reason:
                ticket.set("pending_reason", move.reason)
        elif ticket.get("pending_reason") is not None:
            ticket.unset("pending_reason")
        if category == "open" and workflow.category(source) != "open":
            ticket.unset("resolution_code")
            ticket.unset("solution")
        ticket.set("status", target)
        if move.message:
            ticket.append("notes", Note(iso(now), by, move.message, move.internal).to_yaml())
        change.trailers += [("Gitdesk-From", source), ("Gitdesk-To", target)]
        verb = next((k for k, v in workflow.shortcuts.items() if v == target), target)
        return f"{verb} — {move.message}" if move.message else f"{verb} ({source} -> {target})"

    return _edit(desk, query, "transition", apply)


def _resolve_fields(config: DeskConfig, ticket: Ticket, move: Move) -> None:
    if move.code is None and ticket.get("resolution_code") is None:
        codes = ", ".join(config.resolution_codes)
        raise RuleViolation(f"{ticket.id}: resolving needs a resolution code (--code)",
                            hint=f"codes: {codes}")
    if move.code is not None:
        if config.resolution_codes and move.code not in config.resolution_codes:
            raise RuleViolation(f"--code: {move.code!r} is not a resolution code",
                                hint=f"codes: {', '.join(config.resolution_codes)}")
        ticket.set("resolution_code", move.code)
    if not move.message and not ticket.get("solution"):
        raise RuleViolation(f"{ticket.id}: resolving needs a note saying what was done (-m TEXT)")
    if move.message:
        ticket.set("solution", move.message)


def link(desk: Desk, query: str, rel: str, other: str, *, remove: bool = False) -> Written:
    def build(snap: Snapshot, now: datetime, author: gitio.Identity) -> Change:
        ticket = snap.ticket(query)
        verb = "unlink" if remove else "link"
        change = Change(subject="", action=verb)
        if remove:
            target = _unlink(snap, change, ticket, rel, other)
        else:
            target = _link(snap, change, ticket, rel, other)
        change.subject = f"{ticket.id}: {verb} — {rel} {target}"
        change.put(ticket)
        return change

    return desk.commit(build)


def _link(snap: Snapshot, change: Change, ticket: Ticket, rel: str, other_query: str) -> str:
    config = snap.config
    if rel not in config.link_types:
        raise UsageError(f"{rel!r} is not a link type",
                         hint=f"link types: {', '.join(config.link_types)}")
    other = snap.ticket(other_query)
    if other.id == ticket.id:
        raise RuleViolation(f"{ticket.id} cannot be linked to itself")
    if Link(rel, other.id) in ticket.links():
        raise RuleViolation(f"{ticket.id} already has {rel} {other.id}")
    ticket.append("links", Link(rel, other.id).to_yaml())
    other.append("links", Link(config.link_types[rel], ticket.id).to_yaml())
    change.put(other)
    return other.id


def _unlink(snap: Snapshot, change: Change, ticket: Ticket, rel: str, other_query: str) -> str:
    config = snap.config
    other = snap.ticket(other_query)
    if Link(rel, other.id) not in ticket.links():
        present = ", ".join(f"{x.rel} {x.id}" for x in ticket.links()) or "none"
        raise RuleViolation(f"{ticket.id} has no link {rel} {other.id}", hint=f"links: {present}")
    _drop_link(ticket, Link(rel, other.id))
    _drop_link(other, Link(config.link_types.get(rel, rel), ticket.id))
    change.put(other)
    return other.id


def _drop_link(ticket: Ticket, gone: Link) -> None:
    links = ticket.get("links")
    if links is None:
        return
    for i, item in enumerate(list(links)):
        if isinstance(item, dict) and item.get("rel") == gone.rel and item.get("id") == gone.id:
            del links[i]
            return
