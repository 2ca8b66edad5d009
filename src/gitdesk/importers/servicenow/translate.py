"""The rules that turn one row of a ServiceNow incident event log into the next
version(s) of its ticket: plain data in (the row's values, the ticket as a
mapping, the mapping and the desk's config), plain data out (steps, each a
ticket version with its commit subject and trailers). No git and no store:
run.py reads the branch, checks every step with the verifier's rules, writes.

The life cycle comes row by row from incident_state:

- the first usable row of an incident opens the ticket in the workflow's
  initial state; when that row's state is another one, the ticket moves on in
  the next step(s);
- a state change the workflow does not allow in one step is made along the
  shortest legal path, one step each: New -> Closed is new -> resolved ->
  closed, Resolved -> Awaiting User Info is resolved -> in-progress -> pending,
  Closed/Resolved -> Active is the reopen. A state out of reach skips the row;
- each step enters its state as `gitdesk transition` does (workflow.enter_state):
  resolving writes resolution_code (closed_code through the mapping) and a
  solution, pending writes pending_reason; a reopen drops the resolution;
- a row that keeps the state sets its values in one step (set, or assign);
- resolved_at and closed_at are ignored (filled on every row of the log).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitdesk.domain import ids
from gitdesk.domain.clock import Identity
from gitdesk.domain.config import DeskConfig
from gitdesk.domain.model import Flow, Ticket, rank
from gitdesk.domain.workflow import Entry, enter_state, shortest_path
from gitdesk.errors import GitdeskError
from gitdesk.importers.servicenow.log import Clock, iso, to_int
from gitdesk.importers.servicenow.mapping import FieldSpec, Mapping, slug

SOURCE = "servicenow"
Values = Sequence[str | None]  # one row of the log, as log.read_log gives it


@dataclass(frozen=True)
class Step:
    """One ticket version and the commit that writes it."""

    action: str
    subject: str
    new: dict[str, Any]
    trailers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Skip:
    """Why a row makes no step."""

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Opening:
    """What the ticket a row opens gets from outside the rules: its ID and uid
    (minted against the desk) and its created time (epoch seconds)."""

    id: str
    uid: str
    created: int


@dataclass
class Translation:
    """The steps of one row (or why it has none), and the adjustments made to its
    values on the way (each counted in the import's summary)."""

    steps: list[Step] = field(default_factory=list)
    skip: Skip | None = None
    adjusted: list[str] = field(default_factory=list)


class Translator:
    """The mapping's rules for one desk config and one log's columns."""

    def __init__(self, mapping: Mapping, config: DeskConfig, columns: Sequence[str], *,
                 clock: Clock | None = None) -> None:
        self.mapping = mapping
        self.config = config
        self.workflow = config.workflow_for(mapping.type, {})
        self.ticket_type = config.types[mapping.type]
        self.col = {name: i for i, name in enumerate(columns)}
        self._fields = [(spec, self.col.get(spec.column)) for spec in mapping.fields]
        self.clock = clock or Clock(mapping.time_formats, mapping.timezone)
        self._routes: dict[tuple[str, str], list[str] | None] = {}
        self._adjusted: list[str] = []

    def value(self, values: Values, column: str) -> str | None:
        at = self.col.get(column)
        return values[at] if at is not None else None

    def target(self, values: Values) -> str | None:
        """The desk state the row's incident_state maps to (None: the row is skipped)."""
        state = self.value(values, "incident_state")
        return self.mapping.states.get(state) if state is not None else None

    def translate(self, ticket: dict[str, Any] | None, values: Values, *,
                  opening: Opening | None = None) -> Translation:
        """The steps that take the ticket (None: not opened yet, and `opening` says
        what the new ticket gets) to the row's values and state."""
        self._adjusted = []
        found = self._steps(ticket, values, opening)
        if isinstance(found, Skip):
            return Translation(skip=found, adjusted=self._adjusted)
        return Translation(steps=found, adjusted=self._adjusted)

    def _adjust(self, reason: str) -> None:
        self._adjusted.append(reason)

    def _steps(self, ticket: dict[str, Any] | None, values: Values,
               opening: Opening | None) -> list[Step] | Skip:
        state = self.value(values, "incident_state")
        target = self.target(values)
        if target is None:
            return Skip(f"incident_state {state!r} is not in the mapping's states"
                        if state is not None else "no incident_state")
        steps: list[Step] = []
        current = ticket
        if current is None:
            if opening is None:
                raise ValueError("a row that opens a ticket needs its Opening")
            current = self.opened(values, opening)
            steps.append(Step("open", f"{opening.id}: open — {current['summary']}", current))
        source = str(current["status"])
        route = self._route(source, target)
        if route is None:
            return Skip(f"the workflow has no way from {source} to {target}",
                        f"incident_state {state}")
        base = current  # what the first hop starts from: the ticket with the row's values
        if ticket is not None:
            base = self.updated(current, values)
            if not route:
                steps.append(self._same_state(current, base, target, state))
        for i, hop in enumerate(route):
            entered = self._enter(base if i == 0 else steps[-1].new, hop, state, hop == target,
                                  values)
            if isinstance(entered, Skip):
                return entered
            steps.append(entered)
        return steps

    def _route(self, source: str, target: str) -> list[str] | None:
        key = (source, target)
        if key not in self._routes:
            self._routes[key] = shortest_path(self.workflow, source, target)
        return self._routes[key]

    # -- the ticket's values -----------------------------------------------------------

    def opened(self, values: Values, opening: Opening) -> dict[str, Any]:
        """The ticket the row opens, in the workflow's initial state."""
        summary = self._template(self.mapping.summary, values) \
            or f"ServiceNow {self.value(values, 'number')}"
        found, fields = self._found(values, opening.created)
        data = {
            "id": opening.id, "uid": opening.uid, "type": self.mapping.type,
            "summary": summary, "status": self.workflow.initial,
            "created": iso(opening.created), "links": [], "notes": [], **found,
            # flow style, as `open` writes it (and the index's fast reader reads it)
            "fields": Flow((key, value) for key, value in fields if value is not None),
        }
        # the canonical key order, as new_ticket lays a ticket out; sorted once here,
        # because new_ticket's insertions one key at a time are slow on this hot path
        return {key: data[key] for key in sorted(data, key=rank) if data[key] is not None}

    def updated(self, data: dict[str, Any], values: Values) -> dict[str, Any]:
        """A copy of the ticket with the row's values (not its state) applied."""
        found, fields = self._found(values, created_at(data))
        out = dict(data)
        ticket = Ticket(out, "")
        for key, value in found.items():
            if value is None:
                out.pop(key, None)
            elif key not in out:
                ticket.set(key, value)
            elif out[key] != value:
                out[key] = value  # in its place, as Ticket.set puts it (and faster)
        current = out.get("fields")
        # a continued ticket keeps the style its file has
        custom = dict(current) if isinstance(current, dict) and not isinstance(current, Flow) \
            else Flow(current or {})
        for key, value in fields:
            if value is None:
                custom.pop(key, None)
            else:
                custom[key] = value
        if current is None:
            ticket.set("fields", custom)
        elif custom != current:
            out["fields"] = custom
        return out

    def _found(self, values: Values, created: int) -> tuple[dict[str, Any],
                                                            list[tuple[str, Any]]]:
        """The ticket's values in the row (None: no value) and its custom fields'."""
        mapping, config = self.mapping, self.config
        found: dict[str, Any] = {}
        impact = self._pick(mapping.impact, values, "impact")
        urgency = self._pick(mapping.urgency, values, "urgency")
        found["impact"], found["urgency"] = impact, urgency
        derived = config.derive_priority(impact, urgency)
        priority = self._pick(mapping.priority, values, "priority")
        if priority is None:
            priority = derived
        found["priority"] = priority
        found["priority_override"] = True if priority is not None and priority != derived \
            else None
        found["category"], found["subcategory"] = self._desk_category(values)
        ci = self.value(values, "cmdb_ci")
        found["ci"] = (mapping.cis.get(ci) or slug(ci)) if ci is not None else None
        group = self.value(values, "assignment_group")
        found["group"] = (mapping.groups.get(group) or slug(group)) if group else None
        assignee = self.value(values, "assigned_to")
        found["assignee"] = (mapping.assignees.get(assignee) or slug(assignee)) \
            if assignee else None
        caller = self.value(values, "caller_id")
        found["submitter"] = Flow(mapping.callers.get(caller) or {"name": caller}) \
            if caller is not None else None
        target = config.priorities[priority].target \
            if priority is not None and priority in config.priorities else None
        found["due"] = iso(created + int(target.total_seconds())) if target is not None \
            else None
        fields = [(spec.id, self._field(spec, values[at] if at is not None else None))
                  for spec, at in self._fields]
        return found, fields

    def category(self, values: Values) -> tuple[str | None, str | None]:
        """The row's category and subcategory through the mapping's maps."""
        category = self.value(values, "category")
        subcategory = self.value(values, "subcategory")
        if category is not None and category in self.mapping.category_map:
            category = self.mapping.category_map[category]
        if subcategory is not None and subcategory in self.mapping.subcategory_map:
            subcategory = self.mapping.subcategory_map[subcategory]
        return category, subcategory

    def _desk_category(self, values: Values) -> tuple[str | None, str | None]:
        """The category the ticket gets: one the type's config knows, if it lists any."""
        category, subcategory = self.category(values)
        categories = self.ticket_type.categories
        if categories and category is not None:
            if category not in categories:
                self._adjust("category not in the desk's config: left out")
                category = subcategory = None
            elif subcategory is not None and categories[category] \
                    and subcategory not in categories[category]:
                self._adjust("subcategory not in the desk's config: left out")
                subcategory = None
        if category is None and subcategory is not None and categories:
            self._adjust("subcategory without a category: left out")
            subcategory = None
        return category, subcategory

    def _pick(self, table: dict[str, str], values: Values, column: str) -> str | None:
        value = self.value(values, column)
        if value is None:
            return None
        mapped = table.get(value)
        if mapped is None:
            self._adjust(f"{column} value not in the mapping: left out")
        return mapped

    def _field(self, spec: FieldSpec, value: str | None) -> Any:
        if value is None:
            return None
        if spec.format == "number":
            number = to_int(value)
            if number is None:
                self._adjust(f"{spec.column} is not a number: field left out")
            return number
        if spec.format == "bool":
            lowered = value.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            self._adjust(f"{spec.column} is not true/false: field left out")
            return None
        if spec.format == "datetime":
            stamp = self.clock.parse(value)
            if stamp is None:
                self._adjust(f"{spec.column} is not a time: field left out")
                return None
            return iso(stamp)
        return value

    def _template(self, template: str, values: Values) -> str:
        columns = {name: (values[i] or "unknown") for name, i in self.col.items()}
        return " ".join(template.format_map(columns).split())

    # -- the ticket's state -------------------------------------------------------------

    def _enter(self, data: dict[str, Any], target: str, state: str | None, final: bool,
               values: Values) -> Step | Skip:
        """One workflow step, entering target as `gitdesk transition` does."""
        mapping, workflow = self.mapping, self.workflow
        code = solution = None
        if workflow.category(target) == "resolved":
            code_text = self.value(values, "closed_code")
            code = mapping.resolution_codes.get(code_text) if code_text is not None else None
            if code is None:
                code = mapping.default_resolution_code
                if code_text is not None:
                    self._adjust("closed_code not in the mapping: default resolution code")
            solution = self._template(mapping.solution, values)
        # the row's own pending reason is for its last step; a pending state on the way
        # gets the default
        reason = (mapping.pending_reasons.get(state or "") if final else None) \
            or mapping.default_pending_reason
        out = dict(data)
        ticket = Ticket(out, "")
        source = ticket.status
        try:
            verb = enter_state(self.config, workflow, ticket, target,
                               Entry(code=code, solution=solution, reason=reason))
        except GitdeskError as exc:
            return Skip("refused by the workflow", exc.message)
        return Step("transition", f"{ticket.id}: {verb} ({source} -> {target})", out,
                    (("Gitdesk-From", source), ("Gitdesk-To", target)))

    def _same_state(self, old: dict[str, Any], new: dict[str, Any], target: str,
                    state: str | None) -> Step:
        """A row that keeps the state: its values in one step (a pending state that
        needs a reason takes the row's, e.g. from Awaiting User Info to Awaiting Vendor)."""
        if "pending_reason" in self.workflow.states[target].requires:
            reason = self.mapping.pending_reasons.get(state or "") \
                or self.mapping.default_pending_reason
            new = dict(new)
            Ticket(new, "").set("pending_reason", reason)
        action, subject = set_subject(old, new)
        return Step(action, subject, new)

    # -- the commit's author ------------------------------------------------------------

    def author(self, values: Values, when: int) -> Identity:
        """The row's sys_updated_by as the author of its commits, dated `when`."""
        name = self.value(values, "sys_updated_by") or "ServiceNow"
        person = self.mapping.authors.get(name)
        if person is not None:
            display = person.get("name", name)
            email = person.get("email") or f"{slug(display) or 'servicenow'}@" \
                                           f"{self.mapping.author_domain}"
        else:
            display = name
            email = f"{slug(name) or 'servicenow'}@{self.mapping.author_domain}"
        return Identity(display, email, when, 0)


def set_subject(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, str]:
    """The action (assign when only assignee and group change, else set) and the
    commit subject that lists what changed."""
    changed = [k for k in new if k != "fields" and old.get(k) != new.get(k)]
    changed += [k for k in old if k not in new]
    shown = ", ".join(f"{k}={_short(new.get(k))}" for k in changed)
    if not shown:
        before = old.get("fields") or {}
        after = new.get("fields") or {}
        keys = [k for k in after if before.get(k) != after.get(k)]
        keys += [k for k in before if k not in after]
        shown = ", ".join(f"fields.{k}={_short(after.get(k))}" for k in keys) or "no change"
    action = "assign" if changed and set(changed) <= {"assignee", "group"} else "set"
    return action, f"{new['id']}: {action} — {shown}"


def deterministic_uid(stamp_ms: int, number: str, salt: int = 0) -> str:
    """A ULID whose random part comes from the ServiceNow number: same number, same ID."""
    digest = hashlib.sha256(f"{SOURCE}:{number}:{salt}".encode()).digest()
    value = (max(stamp_ms, 0) << 80) | int.from_bytes(digest[:10], "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(ids.CROCKFORD[rem])
    return "".join(reversed(chars))


_CREATED: dict[str, int] = {}


def created_at(data: dict[str, Any]) -> int:
    """The ticket's created time in epoch seconds."""
    text = str(data.get("created", ""))
    stamp = _CREATED.get(text)
    if stamp is None:
        stamp = int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
        _CREATED[text] = stamp
    return stamp


def _short(value: Any) -> str:
    if isinstance(value, dict):
        value = ", ".join(f"{k}: {v}" for k, v in value.items())
    text = "" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
