"""Selecting and ordering tickets for `list` and friends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gitdesk.domain.config import DeskConfig
from gitdesk.domain.model import KEY_ORDER
from gitdesk.domain.where import name_list, unknown_name
from gitdesk.errors import UsageError

SORT_KEYS = ("priority", "created", "due", "status", "id", "type", "assignee", "group", "ci",
             "summary", "category")


@dataclass
class Filters:
    types: Sequence[str] = ()
    statuses: Sequence[str] = ()
    state_category: str | None = None  # open, resolved or closed
    equals: dict[str, str] = field(default_factory=dict)  # assignee, group, priority, ci, ...


def field_names(config: DeskConfig, derived: Sequence[str] = ()) -> tuple[str, ...]:
    """The names a --where expression or a --columns list may use: the ticket keys
    gitdesk knows, fields.NAME and the bare id of each custom field of the desk's
    types, and the derived columns of the command (`derived`)."""
    custom = list(dict.fromkeys(f.id for t in config.types.values() for f in t.fields))
    return tuple(dict.fromkeys([*KEY_ORDER, *derived, *(f"fields.{c}" for c in custom),
                                *(c for c in custom if c not in KEY_ORDER)]))


def check_names(flag: str, given: Sequence[str], known: Sequence[str], what: str,
                plural: str, *, any_case: bool = False) -> None:
    """Each of `given` is one of `known`, or a usage error names it and lists them."""
    folded = {k.lower() for k in known} if any_case else set(known)
    for name in given:
        if (name.lower() if any_case else name) not in folded:
            raise UsageError(f"{flag}: unknown {what} {unknown_name(name, known)}",
                             hint=f"{plural}: {name_list(known) or 'none'}")


def states_of(config: DeskConfig, types: Sequence[str]) -> tuple[str, ...]:
    """Every status of the workflows of these types (all types if none)."""
    names: dict[str, None] = {}
    for type_name in types or config.types:
        if type_name in config.types:
            for workflow in _workflows(config, type_name):
                names.update(dict.fromkeys(workflow.states))
    return tuple(names)


def check_filters(config: DeskConfig, filters: Filters) -> None:
    """A status or priority the desk does not have is a typo, not an empty result."""
    check_names("--status", filters.statuses, states_of(config, filters.types), "status",
                "statuses")
    if "priority" in filters.equals:
        check_names("--priority", [filters.equals["priority"]], tuple(config.priorities),
                    "priority", "priorities", any_case=True)


def category_of(config: DeskConfig, data: dict[str, Any]) -> str | None:
    try:
        workflow = config.workflow_for(str(data["type"]), data)
    except Exception:  # unknown type or workflow: the ticket is in no category
        return None
    return workflow.category(str(data.get("status")))


def matches(config: DeskConfig, data: dict[str, Any], filters: Filters) -> bool:
    if filters.types and data.get("type") not in filters.types:
        return False
    if filters.statuses and data.get("status") not in filters.statuses:
        return False
    if filters.state_category and category_of(config, data) != filters.state_category:
        return False
    for key, wanted in filters.equals.items():
        value = data.get(key)
        values = value if isinstance(value, list) else [value]
        if key == "ci":
            values = [*values, *(data.get("cis") or [])]
        if not any(v is not None and str(v).lower() == wanted.lower() for v in values):
            return False
    return True


def sql_prefilter(config: DeskConfig, filters: Filters, ref: str) -> tuple[str, tuple[Any, ...]]:
    """A WHERE clause (for the whole query, ref included) that narrows the index rows
    before matches() decides. Each OR term names the ref itself so that SQLite can
    answer it from the (ref, type, status) index instead of scanning every ticket."""
    terms: list[str] = []
    params: list[Any] = []
    types = list(filters.types) or list(config.types)
    if filters.state_category:
        for type_name in types:
            if type_name not in config.types:
                continue
            states = set()
            for wf in _workflows(config, type_name):
                states |= {s for s, st in wf.states.items()
                           if st.category == filters.state_category}
            if states:
                marks = ",".join("?" * len(states))
                terms.append(f"(ref=? AND type=? AND status IN ({marks}))")
                params += [ref, type_name, *sorted(states)]
    elif filters.types:
        terms.append(f"(ref=? AND type IN ({','.join('?' * len(types))}))")
        params += [ref, *types]
    else:
        terms.append("ref=?")
        params.append(ref)
    # unreadable files always come back, so that list can warn about them
    terms.append("(ref=? AND error IS NOT NULL)")
    params.append(ref)
    return " OR ".join(terms), tuple(params)


def _workflows(config: DeskConfig, type_name: str) -> list[Any]:
    choice = config.types[type_name].workflow
    names = [choice] if isinstance(choice, str) else list(choice.map.values())
    return [config.workflows[n] for n in names]


def sort_records(config: DeskConfig, records: list[dict[str, Any]],
                 keys: Sequence[str]) -> list[dict[str, Any]]:
    ranks = {name: i for i, name in enumerate(config.priorities)}
    for key in reversed(keys or ("priority", "created")):
        descending = key.startswith("-")
        name = key.lstrip("-+")
        if name not in SORT_KEYS:
            raise UsageError(f"--sort: unknown key {name!r}", hint=f"keys: {', '.join(SORT_KEYS)}")

        def sort_key(r: dict[str, Any], name: str = name) -> tuple[int, Any]:
            value = r.get(name)
            if name == "priority":
                return (0, ranks.get(str(value), len(ranks)))
            return (1 if value is None else 0, str(value) if value is not None else "")

        records.sort(key=sort_key, reverse=descending)
    return records
