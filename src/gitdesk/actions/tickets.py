"""Ticket actions: open, note, assign, set. Each is a rule over tickets in memory
(callable without a repository) and a command that commits what the rule did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitdesk.actions.common import Rule, change_of, commit_rule, context
from gitdesk.actions.links import add_link
from gitdesk.domain import change as changes
from gitdesk.domain import ids, problem
from gitdesk.domain import request as requests
from gitdesk.domain.clock import Identity, iso, parse_time
from gitdesk.domain.config import DeskConfig, TicketType
from gitdesk.domain.edits import Context, Edit
from gitdesk.domain.model import Flow, Note, Ticket, new_ticket, replace, ticket_path
from gitdesk.domain.workflow import check_choice, derive_priority, due_time
from gitdesk.errors import RuleViolation, UsageError
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, Desk, Written

SETTABLE = ("summary", "description", "impact", "urgency", "priority", "severity", "major",
            "category", "subcategory", "ci", "assignee", "group", "submitter", "due",
            "symptom", "root_cause", "workaround", "known_error", "risk",
            "implementation_plan", "backout_plan", "test_plan", "cis", "services", "window")
BOOLEAN = ("major", "known_error")
LISTS = ("cis", "services")
FLAGS = {"impact": "--impact", "urgency": "--urgency", "priority": "--priority",
         "severity": "--severity"}


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
    standard: str | None = None  # a standard change template
    sources: list[str] = field(default_factory=list)  # incidents a problem comes from


def open_ticket(desk: Desk, request: OpenRequest) -> Written:
    def build(snap: Snapshot, now: datetime, author: Identity) -> Change:
        edit = opened(request, context(snap, now, author),
                      taken=lambda path: snap.read(path) is not None)
        return change_of(edit, "open", first=[edit.tickets[0].id])

    return desk.commit(build)


def opened(request: OpenRequest, ctx: Context, *, taken: Callable[[str], bool]) -> Edit:
    """A new ticket from the request (and the links it asks for); `taken` says whether
    a ticket file already exists, so a freshly minted ID is never reused."""
    config, now = ctx.config, ctx.now
    ticket_type = config.types.get(request.type_name)
    if ticket_type is None:
        raise UsageError(f"unknown ticket type {request.type_name!r}",
                         hint=f"types: {', '.join(config.types)}")
    values = dict(request.values)
    due_override = _prepare_type(config, ticket_type.name, request, values, now)
    _check_values(config, ticket_type, values)
    custom = custom_values(ctx, ticket_type, request.fields, defaults=True)
    uid, tid = _mint(ticket_type, now, taken)
    if values.get("priority") is None:
        values["priority"] = derive_priority(config, values)
    else:
        values["priority_override"] = True
    if isinstance(values.get("submitter"), str):
        values["submitter"] = Flow(parse_person(values["submitter"]))
    due = due_override or (due_time(config, values["priority"], now)
                           if ticket_type.due else None)
    data: dict[str, Any] = {
        "id": tid, "uid": uid, "type": ticket_type.name, "summary": request.summary,
        "description": request.description or None, **values,
        "created": iso(now), "due": iso(due) if due else None,
        "links": [], "fields": Flow(custom), "notes": [],
    }
    data["status"] = config.workflow_for(ticket_type.name, data).initial
    ticket = new_ticket(data, ticket_path(ticket_type.name, tid))
    edit = Edit(subject=f"{tid}: open — {request.summary}", tickets=[ticket])
    for source in request.sources:
        found = ctx.tickets[source]
        if found.type != "incident":
            raise UsageError(f"--from {source}: {found.id} is a {found.type}; a problem "
                             "comes from incidents",
                             hint=f"link other tickets with: gitdesk link PRB-... related "
                                  f"{found.id}")
    links = list(request.links) + [("causes", source) for source in request.sources]
    for rel, other in links:
        add_link(ctx, edit, ticket, rel, other)
    return edit


def _prepare_type(config: DeskConfig, type_name: str, request: OpenRequest,
                  values: dict[str, Any], now: datetime) -> datetime | None:
    """What each ITIL discipline adds to a new ticket; returns a due time override."""
    if request.standard is not None and type_name != "change":
        raise UsageError("--standard opens a standard change: gitdesk open change --standard")
    if request.sources and type_name != "problem":
        raise UsageError("--from links incidents to a new problem: gitdesk open problem --from")
    if type_name != "change":
        for key, flag in (("risk", "--risk"), ("window", "--window"), ("cis", "--cis"),
                          ("services", "--services")):
            if values.get(key) is not None:
                raise UsageError(f"{flag} is for changes: gitdesk open change {flag} ...")
    if type_name == "request":
        return requests.prepare(config, values, request.description, now,
                                fields=request.fields)
    if values.get("request_type") is not None:
        raise UsageError("--request-type is for service requests: gitdesk open request")
    if type_name == "change":
        changes.prepare(config, values, request.standard, now)
    elif values.get("change_type") is not None:
        raise UsageError("--change-type is for changes: gitdesk open change")
    return None


def _check_values(config: DeskConfig, ticket_type: TicketType, values: dict[str, Any]) -> None:
    check_choice(config.impacts, values.get("impact"), "--impact")
    check_choice(config.urgencies, values.get("urgency"), "--urgency")
    check_choice(tuple(config.priorities), values.get("priority"), "--priority")
    check_choice(config.severities, values.get("severity"), "--severity")
    check_choice(changes.RISKS, values.get("risk"), "--risk")
    categories = ticket_type.categories
    category = values.get("category")
    if categories and category is not None:
        check_choice(tuple(categories), category, "--category")
        check_choice(categories[category], values.get("subcategory"), "--subcategory")
    elif categories and values.get("subcategory") is not None:
        raise UsageError("--subcategory needs --category (a subcategory belongs to a category)",
                         hint=f"categories: {', '.join(categories)}")


def custom_values(ctx: Context, ticket_type: TicketType, given: dict[str, Any], *,
                  defaults: bool) -> dict[str, Any]:
    """--field KEY=VALUE checked and typed against the type's custom fields."""
    people = tuple(ctx.policy.people)
    out: dict[str, Any] = {}
    for key, text in given.items():
        definition = ticket_type.field(key)
        if definition is None:
            known = ", ".join(f.id for f in ticket_type.fields) or "none"
            raise UsageError(f"--field {key}: not a custom field of {ticket_type.name}",
                             hint=f"custom fields of {ticket_type.name}: {known}")
        out[key] = definition.convert(str(text), people=people)
    if defaults:
        for definition in ticket_type.fields:
            if definition.id not in out and definition.default is not None:
                out[definition.id] = definition.default
    return {k: v for k, v in out.items() if v is not None or not defaults}


def _mint(ticket_type: TicketType, now: datetime,
          taken: Callable[[str], bool]) -> tuple[str, str]:
    for _ in range(16):
        uid = ids.ulid(int(now.timestamp() * 1000))
        tid = ids.ticket_id(ticket_type.prefix, uid)
        if not taken(ticket_path(ticket_type.name, tid)):
            return uid, tid
    raise RuleViolation("could not mint a free ticket ID (16 collisions in a row)")


def note(ticket: Ticket, ctx: Context, *, text: str, internal: bool = False) -> Edit:
    ticket.append("notes", Note(iso(ctx.now), ctx.by, text, internal).entry())
    return Edit(subject=f"{ticket.id}: note — {text}")


def add_note(desk: Desk, query: str, *, text: str, internal: bool = False) -> Written:
    if not text.strip():
        raise UsageError("the note is empty (-m TEXT)")
    return commit_rule(desk, query, "note",
                       lambda t, c: note(t, c, text=text, internal=internal))


def assign_to(ticket: Ticket, ctx: Context, *, who: str, group: str | None = None) -> Edit:
    """Assign a person (and group); a ticket still in its initial state becomes assigned."""
    policy = ctx.policy
    if who not in policy.people:
        raise RuleViolation(f"{who!r} is not a person of the desk's policy",
                            hint=f"people: {', '.join(policy.people)}")
    if group is not None and group not in policy.groups:
        raise RuleViolation(f"--group: {group!r} is not a group of the policy",
                            hint=f"groups: {', '.join(policy.groups)}")
    ticket.set("assignee", who)
    if group is not None:
        ticket.set("group", group)
    edit = Edit(subject=f"{ticket.id}: assign — {who}" + (f" ({group})" if group else ""))
    workflow = ctx.config.workflow_for(ticket.type, ticket.data)
    if "assigned" in workflow.states and "assigned" in workflow.allowed(ticket.status) \
            and ticket.status == workflow.initial:
        edit.trailers += [("Gitdesk-From", ticket.status), ("Gitdesk-To", "assigned")]
        ticket.set("status", "assigned")
    return edit


def assign(desk: Desk, query: str, *, who: str, group: str | None = None) -> Written:
    return commit_rule(desk, query, "assign", lambda t, c: assign_to(t, c, who=who, group=group))


def check_settable(values: dict[str, str]) -> None:
    for key in values:
        if key not in SETTABLE:
            hint = "use transition for status, note for notes, link for links" \
                if key in ("status", "notes", "links") else f"settable: {', '.join(SETTABLE)}"
            raise UsageError(f"{key!r} cannot be set", hint=hint)


def set_fields(ticket: Ticket, ctx: Context, *, values: dict[str, str],
               fields: dict[str, str] | None = None) -> Edit:
    """Edit fields (an empty value removes one), keeping derived fields right; a
    problem's new workaround goes to the open incidents it causes."""
    check_settable(values)
    config = ctx.config
    ticket_type = config.types[ticket.type]
    given = {k: v for k, v in values.items() if v}
    _check_values(config, ticket_type, {"category": ticket.get("category"),
                                        "subcategory": ticket.get("subcategory"), **given})
    before = ticket.get("workaround")
    for key, text in values.items():
        value = _coerce(key, text)
        if value is None:
            ticket.unset(key)
        else:
            ticket.set(key, value)
    derive(config, ticket, explicit=values)
    _set_custom(ctx, ticket_type, ticket, fields or {})
    shown = ", ".join(f"{k}={v}" for k, v in {**values, **(fields or {})}.items())
    edit = Edit(subject=f"{ticket.id}: set — {shown}")
    workaround = ticket.get("workaround")
    if ticket.type == "problem" and workaround and workaround != before:
        told = problem.publish_workaround(ctx, edit, ticket, str(workaround))
        if told:
            edit.subject += f" (workaround sent to {', '.join(told)})"
    return edit


def set_values(desk: Desk, query: str, *, values: dict[str, str],
               fields: dict[str, str] | None = None) -> Written:
    check_settable(values)
    rule: Rule = lambda t, c: set_fields(t, c, values=values, fields=fields)  # noqa: E731
    return commit_rule(desk, query, "set", rule)


def derive(config: DeskConfig, ticket: Ticket, *, explicit: dict[str, Any]) -> None:
    """Keep derived fields right: priority, due, a problem's known-error flag (keys in
    `explicit` were set by hand and are kept as given)."""
    if "priority" in explicit:
        if explicit["priority"]:
            ticket.set("priority_override", True)
        else:
            ticket.unset("priority_override")
    if not ticket.get("priority_override"):
        priority = derive_priority(config, ticket.data)
        if priority is not None:
            ticket.set("priority", priority)
    if ticket.type != "request" and config.types[ticket.type].due:
        _refresh_due(config, ticket, explicit="due" in explicit)
    if ticket.type == "problem" and "known_error" not in explicit:
        ticket.set("known_error", problem.documented(ticket))


def _set_custom(ctx: Context, ticket_type: TicketType, ticket: Ticket,
                given: dict[str, str]) -> None:
    if not given:
        return
    typed = custom_values(ctx, ticket_type, given, defaults=False)
    custom = ticket.get("fields")
    if custom is None:
        custom = Flow()
        ticket.set("fields", custom)
    for key, value in typed.items():
        if value is None:
            custom.pop(key, None)
        elif key in custom:
            replace(custom, key, value)
        else:
            custom[key] = value


def _coerce(key: str, text: str) -> Any:
    if text == "":
        return None
    if key in BOOLEAN:
        lowered = text.lower()
        if lowered not in ("true", "false", "yes", "no"):
            raise UsageError(f"{key}: expected true or false, not {text!r}")
        return lowered in ("true", "yes")
    if key in LISTS:
        return [item.strip() for item in text.split(",") if item.strip()]
    if key == "submitter":
        return Flow(parse_person(text))
    if key == "window":
        return changes.window_map(changes.parse_window(text))
    if key == "risk" and text not in changes.RISKS:
        raise UsageError(f"risk: {text!r} is not one of: {', '.join(changes.RISKS)}")
    if key == "due":
        try:
            return iso(parse_time(text))
        except ValueError as exc:
            raise UsageError(f"due: {text!r} is not a date-time like 2026-11-25T17:00:00Z") \
                from exc
    return text


def _refresh_due(config: DeskConfig, ticket: Ticket, *, explicit: bool) -> None:
    if explicit:
        return
    due = due_time(config, ticket.get("priority"), parse_time(str(ticket.get("created"))))
    if due is not None:
        ticket.set("due", iso(due))
    else:
        ticket.unset("due")
