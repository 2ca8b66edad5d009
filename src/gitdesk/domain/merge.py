"""Three-way merge of one ticket: both sides' work, never conflict markers.

Notes, events and approvals are the union of both sides; links a set either
side may add to or remove from; the conflicts list keeps what either side added
and drops what either side settled; text merges line by line where the sides
changed different lines. Any other value (custom fields key by key) takes the
side that changed it; where both changed it differently, a deterministic winner
keeps its value and the loser's is recorded in `conflicts`. A status that can
follow the other side's (assigned, then resolved) is taken as is. Derived keys
(priority, due, known_error) follow the merged content. The result is plain
data styled for the codec (`Flow`, `Text`) in the canonical key order, the same
whichever side is called ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gitdesk.domain.approvals import REVIEWED, current_approvers
from gitdesk.domain.clock import iso, parse_time
from gitdesk.domain.config import DeskConfig, Workflow
from gitdesk.domain.mergeparts import ABSENT, in_time_order, merge_links, same, token, union
from gitdesk.domain.model import APPEND_ONLY, TEXT_KEYS, Flow, Text, Ticket, plain, rank
from gitdesk.domain.problem import documented
from gitdesk.domain.textmerge import merge3
from gitdesk.domain.workflow import due_time, reachable
from gitdesk.errors import InvalidFile

FLOW_KEYS = ("submitter", "window", "fields", "escalation", "risk_answers")
ENTRY_KEYS = (*APPEND_ONLY, "links", "conflicts")  # lists of one-line mappings
# merged after the other keys, from what those became
_LATER = ("category", "subcategory", "status", "priority", "due", "known_error", "conflicts")
_STAGES = {"open": 0, "resolved": 1, "closed": 2}


@dataclass(frozen=True)
class Side:
    """A side's version of the ticket (None: no such file) and the side's last commit
    that changed it: author time (epoch seconds, 0 unknown), author, id."""

    data: Mapping[str, Any] | None
    when: int = 0
    who: str = ""
    commit: str = ""


@dataclass(frozen=True)
class Merged:
    """The merged ticket (None only for a collision) and the conflicts this merge
    recorded (they are in data["conflicts"] too). collision: both sides added a
    ticket at this path with different uids; the caller must renumber one."""

    data: dict[str, Any] | None
    conflicts: list[dict[str, Any]]
    collision: bool = False


def merge_ticket(config: DeskConfig, base: Mapping[str, Any] | None, ours: Side,
                 theirs: Side) -> Merged:
    """The merge of two versions of a ticket file that share `base` (None: neither
    had the file at the merge base)."""
    if ours.data is None or theirs.data is None:
        kept = ours.data if ours.data is not None else theirs.data
        return Merged(styled(kept) if kept is not None else None, [])  # never deleted
    if base is None and ours.data.get("uid") != theirs.data.get("uid"):
        return Merged(None, [], collision=True)
    return _Merge(config, base or {}, ours, theirs).run()


def styled(data: Mapping[str, Any]) -> dict[str, Any]:
    """A ticket as fresh plain data in the canonical key order, each value in the
    style gitdesk writes it (None values dropped)."""
    return {str(k): _styled(str(k), v)
            for k, v in sorted(data.items(), key=lambda item: _order(item[0]))
            if v is not None and v is not ABSENT}


class _Merge:
    def __init__(self, config: DeskConfig, base: Mapping[str, Any], ours: Side,
                 theirs: Side) -> None:
        assert ours.data is not None and theirs.data is not None
        self.config = config
        self.sides = (ours, theirs)
        self.versions: tuple[Mapping[str, Any], ...] = (base, ours.data, theirs.data)
        self.out: dict[str, Any] = {}
        self.added: list[Flow] = []

    def get(self, key: str) -> tuple[Any, Any, Any]:
        base, ours, theirs = (_value(v, key) for v in self.versions)
        return base, ours, theirs

    def run(self) -> Merged:
        keys = sorted({str(k) for version in self.versions for k in version}, key=_order)
        for key in keys:
            if key not in _LATER:
                self.out[key] = self.merge_key(key, *self.get(key))
        self.categories()
        self.out["status"] = self.status()
        self.authorization()
        self.state_keys()
        self.derive()
        self.out["conflicts"] = self.conflict_list()
        return Merged(styled(self.out), [_flow(e) for e in self.added])

    def merge_key(self, key: str, base: Any, ours: Any, theirs: Any) -> Any:
        if same(ours, theirs) or same(base, theirs):
            return ours
        if same(base, ours):
            return theirs
        if key in APPEND_ONLY and _all(list, ours, theirs):
            return union(_list(ours), _list(theirs))
        if key == "links" and _all(list, base, ours, theirs):
            return merge_links(_list(base), _list(ours), _list(theirs))
        if key == "fields" and _all(dict, base, ours, theirs):
            return self.fields(base or {}, ours or {}, theirs or {})
        if key in TEXT_KEYS and _all(str, base) and isinstance(ours, str) \
                and isinstance(theirs, str):
            text = merge3(str(base or ""), str(ours), str(theirs))
            if text is not None:
                return text
        return self.choose(key, base, ours, theirs)

    def choose(self, field: str, base: Any, ours: Any, theirs: Any, *,
               prefer: int | None = None, explicit: tuple[bool, bool] = (True, True)) -> Any:
        """The side that changed the value; if both did, differently, the preferred
        side or the winner, and the loser's value recorded (when it was explicit)."""
        if same(ours, theirs) or same(base, theirs):
            return ours
        if same(base, ours):
            return theirs
        win = self.winner(ours, theirs) if prefer is None else prefer
        values = (ours, theirs)
        if explicit[1 - win]:
            self.record(field, values[1 - win], values[win], self.sides[1 - win])
        return values[win]

    def winner(self, ours: Any, theirs: Any) -> int:
        """0 (ours) or 1 (theirs): the later commit, then the larger commit id, then
        the larger value."""
        a, b = self.sides
        return 0 if (a.when, a.commit, token(ours)) > (b.when, b.commit, token(theirs)) else 1

    def record(self, field: str, lost: Any, kept: Any, loser: Side) -> None:
        when = iso(datetime.fromtimestamp(loser.when, UTC)) if loser.when else ""
        self.added.append(Flow(field=field, value=_none(lost), kept=_none(kept),
                               by=loser.who, at=when, commit=loser.commit))

    def fields(self, base: dict[str, Any], ours: dict[str, Any],
               theirs: dict[str, Any]) -> dict[str, Any]:
        """Custom fields key by key: the base's keys in their order, then new ones
        by name."""
        new = sorted({str(k) for k in (*ours, *theirs) if k not in base})
        merged = {}
        for name in [*base, *new]:
            value = self.choose(f"fields.{name}", *(d.get(name, ABSENT)
                                                     for d in (base, ours, theirs)))
            if value is not ABSENT:
                merged[name] = value
        return merged

    def categories(self) -> None:
        """Category and subcategory key by key when the pair is one the type allows,
        else the winning side's pair."""
        pairs = [(_value(v, "category"), _value(v, "subcategory")) for v in self.versions]
        start = len(self.added)
        pair = (self.choose("category", *(p[0] for p in pairs)),
                self.choose("subcategory", *(p[1] for p in pairs)))
        if not self.category_ok(*pair) and not any(same(list(pair), list(p)) for p in pairs):
            del self.added[start:]
            base, ours, theirs = pairs
            win = self.winner(ours, theirs)
            kept, lost = (ours, theirs) if win == 0 else (theirs, ours)
            for i, key in enumerate(("category", "subcategory")):
                if not same(lost[i], base[i]) and not same(lost[i], kept[i]):
                    self.record(key, lost[i], kept[i], self.sides[1 - win])
            pair = kept
        self.out["category"], self.out["subcategory"] = pair

    def category_ok(self, category: Any, subcategory: Any) -> bool:
        ticket_type = self.config.types.get(str(self.out.get("type")))
        allowed = ticket_type.categories if ticket_type is not None else {}
        if not allowed or category is ABSENT:
            return not allowed or subcategory is ABSENT
        return category in allowed and (subcategory is ABSENT or not allowed[category]
                                        or subcategory in allowed[category])

    def status(self) -> Any:
        base, ours, theirs = self.get("status")
        both = not same(base, ours) and not same(base, theirs)
        later = self.later(base, ours, theirs) if both else None
        return later if later is not None else self.choose("status", base, ours, theirs)

    def later(self, base: Any, ours: Any, theirs: Any) -> str | None:
        """The state that can follow the other side's through the workflow, if one
        does; where each can follow the other, the one further along (open, resolved,
        closed) unless the other side's own move went back (a reopen)."""
        workflow = self.workflow()
        if workflow is None or not _all(str, ours, theirs):
            return None
        forward, back = reachable(workflow, ours, theirs), reachable(workflow, theirs, ours)
        if forward != back:
            return str(theirs if forward else ours)
        if forward:
            start = _stage(workflow, base)
            ahead_o, ahead_t = _stage(workflow, ours), _stage(workflow, theirs)
            if ahead_t > ahead_o >= start:
                return str(theirs)
            if ahead_o > ahead_t >= start:
                return str(ours)
        return None

    def authorization(self) -> None:
        """An authorization stands. When the merged ticket is at or past its approval
        gate, its reviewed content is that of a side that got there since the base, on
        approvals given on its content (the winner, if both did), so those approvals
        still count; what the other side changed in it is recorded in `conflicts`.
        (Below the gate an edit stands and voids the approvals given on the content
        before it; so does an edit after an authorization both sides already had.)"""
        workflow = self.workflow()
        status = self.out.get("status")
        if workflow is None or not isinstance(status, str) or not workflow.authorized(status):
            return
        base, ours, theirs = self.versions
        contents = [[_value(v, key) for key in REVIEWED] for v in (ours, theirs)]
        before = [_value(base, key) for key in REVIEWED]
        there = [i for i, version in enumerate((ours, theirs)) if _holds(workflow, version)
                 and not (_holds(workflow, base) and same(before, contents[i]))]
        if not there:
            return
        held = there[0] if len(there) == 1 else \
            self.winner(*([_none(v) for v in content] for content in contents))
        other = self.sides[1 - held]
        for key, kept, lost in zip(REVIEWED, contents[held], contents[1 - held], strict=True):
            if same(self.out.get(key, ABSENT), kept):
                continue
            self.added = [e for e in self.added if e.get("field") != key]
            self.out[key] = kept
            if not same(lost, kept):
                self.record(key, lost, kept, other)

    def state_keys(self) -> None:
        """A pending reason that only a pending side had does not outlive pending in
        the merge: entering any other state drops it (domain.workflow.enter_state), so
        a side that moved on from pending while the other side set the reason leaves
        none behind. (A reason a side holds outside pending is that side's data.)"""
        workflow, reason = self.workflow(), self.out.get("pending_reason", ABSENT)
        if workflow is None or reason is ABSENT or \
                self.takes_reason(workflow, self.out.get("status")):
            return
        if any(same(_value(side.data or {}, "pending_reason"), reason)
               and not self.takes_reason(workflow, _value(side.data or {}, "status"))
               for side in self.sides):
            return
        self.out["pending_reason"] = ABSENT
        self.added = [e for e in self.added if e.get("field") != "pending_reason"]

    @staticmethod
    def takes_reason(workflow: Workflow, status: Any) -> bool:
        if not isinstance(status, str) or status not in workflow.states:
            return True  # no known state: leave the key alone
        return status == "pending" or "pending_reason" in workflow.states[status].requires

    def workflow(self) -> Workflow | None:
        try:
            return self.config.workflow_for(str(self.out.get("type")), self.out)
        except (KeyError, InvalidFile):
            return None

    def derive(self) -> None:
        """Priority from the matrix unless overridden; due from the priority and a
        problem's known_error from root cause and workaround where the merge made a
        combination neither side had. A loser whose value was derived on its own
        side is not recorded: it follows from what the merge kept."""
        out, sides = self.out, [side.data or {} for side in self.sides]
        derived = None if out.get("priority_override") else self.config.derive_priority(
            _none(out.get("impact")), _none(out.get("urgency")))
        explicit = (bool(sides[0].get("priority_override")),
                    bool(sides[1].get("priority_override")))
        out["priority"] = derived if derived is not None else self.choose(
            "priority", *self.get("priority"),
            prefer=None if explicit[0] == explicit[1] else explicit.index(True),
            explicit=explicit)
        type_name = out.get("type")
        ticket_type = self.config.types.get(str(type_name))
        if ticket_type is not None and ticket_type.due and type_name != "request":
            out["due"] = self.follow("due", ("priority",), self.due)
        else:
            out["due"] = self.choose("due", *self.get("due"))
        if type_name == "problem":
            out["known_error"] = self.follow("known_error", ("root_cause", "workaround"),
                                             lambda data: documented(Ticket(dict(data), "")))
        else:
            out["known_error"] = self.choose("known_error", *self.get("known_error"))

    def follow(self, key: str, inputs: tuple[str, ...],
               derive: Callable[[Mapping[str, Any]], Any]) -> Any:
        """A derived key: recomputed when its inputs are a combination neither side
        had; else the side whose inputs the merge kept wins a conflict."""
        merged = [token(self.out.get(k, ABSENT)) for k in inputs]
        sides = [side.data or {} for side in self.sides]
        fits = [[token(_value(data, k)) for k in inputs] == merged for data in sides]
        if not any(fits):
            value = derive(self.out)
            if value is not None:
                return value
        explicit = (not same(_value(sides[0], key), derive(sides[0])),
                    not same(_value(sides[1], key), derive(sides[1])))
        return self.choose(key, *self.get(key), explicit=explicit,
                           prefer=None if fits[0] == fits[1] else fits.index(True))

    def due(self, data: Mapping[str, Any]) -> Any:
        """created + the priority's target (ABSENT: none), None if created is no time."""
        try:
            created = parse_time(str(data.get("created")))
        except ValueError:
            return None
        due = due_time(self.config, _none(_value(data, "priority")), created)
        return iso(due) if due is not None else ABSENT

    def conflict_list(self) -> Any:
        """What either side recorded since the base and both still have (an entry
        one side removed was settled there), and what this merge recorded."""
        base, ours, theirs = self.get("conflicts")
        if not self.added:
            if same(ours, theirs) or same(base, theirs):
                return ours
            if same(base, ours):
                return theirs
        before = {token(e) for e in _list(base)}
        have = [{token(e) for e in _list(v)} for v in (ours, theirs)]
        keep: dict[str, Any] = {}
        for entry in (*_list(ours), *_list(theirs), *self.added):
            key = token(entry)
            if key not in before or (key in have[0] and key in have[1]):
                keep.setdefault(key, entry)
        return in_time_order(list(keep.items())) or ABSENT


def _holds(workflow: Workflow, version: Mapping[str, Any]) -> bool:
    """Whether a version is at or past its approval gate on approvals given on its
    own content."""
    status = _value(version, "status")
    return isinstance(status, str) and workflow.authorized(status) \
        and bool(current_approvers(dict(version)))


def _stage(workflow: Workflow, state: Any) -> int:
    return _STAGES.get(str(workflow.category(state)), -1) if isinstance(state, str) else -1


def _value(version: Mapping[str, Any], key: str) -> Any:
    value = version.get(key, ABSENT)
    return ABSENT if value is None else value


def _all(kind: type, *values: Any) -> bool:
    """Whether each value is of the kind or absent."""
    return all(v is ABSENT or isinstance(v, kind) for v in values)


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _none(value: Any) -> Any:
    return None if value is ABSENT else plain(value)


def _order(key: Any) -> tuple[int, str]:
    """The canonical key order: gitdesk's keys first, then the others by name."""
    return rank(str(key)), str(key)


def _styled(key: str, value: Any) -> Any:
    if key in TEXT_KEYS and isinstance(value, str):
        return Text(value)
    if key in FLOW_KEYS and isinstance(value, Mapping):
        return _flow(value)
    if key in ENTRY_KEYS and isinstance(value, list):
        return [_flow(e) if isinstance(e, Mapping) else plain(e) for e in value]
    return plain(value)


def _flow(mapping: Mapping[str, Any]) -> Flow:
    return Flow({str(k): _flow(v) if isinstance(v, Mapping) else plain(v)
                 for k, v in mapping.items()})
