"""The mapping file: how a ServiceNow incident event log's values become the desk's.

The default is templates/servicenow-mapping.yaml (documented there and in the
README's "Importing from ServiceNow"); a user's --mapping file is laid over it
table by table. `check_mapping` holds the mapping against the desk's config and
the log's columns before anything is written; `extended_config` is the desk's
config with the categories and custom fields the mapped log needs.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from gitdesk.domain.config import CONFIG_PATH, DeskConfig, Workflow
from gitdesk.domain.model import plain
from gitdesk.errors import InvalidFile, UsageError
from gitdesk.verify.configs import parse_config
from gitdesk.yaml import roundtrip as yamlio

MAPPING_TEMPLATE = "servicenow-mapping.yaml"
FORMATS = ("text", "number", "bool", "datetime")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")
_SLUG_OUT = re.compile(r"[^A-Za-z0-9_.@+-]+")


@dataclass(frozen=True)
class FieldSpec:
    id: str
    column: str
    format: str
    caption: str


@dataclass(frozen=True)
class Mapping:
    type: str
    time_formats: tuple[str, ...]
    timezone: str
    summary: str
    states: dict[str, str]
    pending_reasons: dict[str, str]
    default_pending_reason: str
    impact: dict[str, str]
    urgency: dict[str, str]
    priority: dict[str, str]
    resolution_codes: dict[str, str]
    default_resolution_code: str
    solution: str
    extend_config: bool
    category_map: dict[str, str | None]
    subcategory_map: dict[str, str | None]
    groups: dict[str, str]
    assignees: dict[str, str]
    cis: dict[str, str]
    callers: dict[str, dict[str, str]]
    author_domain: str
    authors: dict[str, dict[str, str]]
    declare_fields: bool
    fields: tuple[FieldSpec, ...]
    path: str = "(default mapping)"


def default_mapping_text() -> bytes:
    return resources.files("gitdesk").joinpath("templates", MAPPING_TEMPLATE).read_bytes()


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _merge(out.get(key), value)
        return out
    return over


def load_mapping(path: Path | None = None) -> Mapping:
    """The default mapping, with the user's mapping file laid over it."""
    raw = plain(yamlio.load(default_mapping_text(), MAPPING_TEMPLATE))
    where = "(default mapping)"
    if path is not None:
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"--mapping: cannot read {path}: {exc.strerror}") from exc
        user = plain(yamlio.load(text, str(path)))
        if user is not None and not isinstance(user, dict):
            raise InvalidFile(str(path), ["a mapping file is a YAML mapping"])
        raw = _merge(raw, user or {})
        where = str(path)
    try:
        return _build_mapping(raw, where)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidFile(where, [f"not a valid mapping: {type(exc).__name__}: {exc}"],
                          hint="compare with `gitdesk import servicenow --show-mapping`") \
            from exc


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a mapping")
    return {str(k): v for k, v in value.items() if v is not None}


def _strings(raw: dict[str, Any], key: str) -> dict[str, str]:
    return {k: str(v) for k, v in _table(raw, key).items()}


def _build_mapping(raw: dict[str, Any], where: str) -> Mapping:
    fields = []
    for fid, spec in _table(raw, "fields").items():
        if isinstance(spec, str):
            spec = {"column": spec}
        fmt = str(spec.get("format", "text"))
        if fmt not in FORMATS:
            raise ValueError(f"fields.{fid}.format: {fmt!r} is not one of {', '.join(FORMATS)}")
        fields.append(FieldSpec(fid, str(spec["column"]), fmt, str(spec.get("caption", fid))))
    categories = _table(raw, "categories")
    subcategories = _table(raw, "subcategories")
    authors = _table(raw, "authors")
    formats = raw.get("time_formats") or ["%d/%m/%Y %H:%M"]
    return Mapping(
        type=str(raw.get("type", "incident")),
        time_formats=tuple(str(f) for f in formats),
        timezone=str(raw.get("timezone") or "UTC"),
        summary=str(raw.get("summary") or "ServiceNow incident {number}"),
        states=_strings(raw, "states"),
        pending_reasons=_strings(raw, "pending_reasons"),
        default_pending_reason=str(raw.get("default_pending_reason", "")),
        impact=_strings(raw, "impact"),
        urgency=_strings(raw, "urgency"),
        priority=_strings(raw, "priority"),
        resolution_codes=_strings(raw, "resolution_codes"),
        default_resolution_code=str(raw.get("default_resolution_code", "")),
        solution=str(raw.get("solution") or "Resolved in ServiceNow"),
        extend_config=bool(categories.get("extend_config", True)),
        category_map={str(k): (str(v) if v is not None else None)
                      for k, v in (categories.get("map") or {}).items()},
        subcategory_map={str(k): (str(v) if v is not None else None)
                         for k, v in (subcategories.get("map") or {}).items()},
        groups=_strings(raw, "groups"),
        assignees=_strings(raw, "assignees"),
        cis=_strings(raw, "cis"),
        callers={k: {str(a): str(b) for a, b in dict(v).items()}
                 for k, v in _table(raw, "callers").items()},
        author_domain=str(authors.get("domain") or "servicenow.invalid"),
        authors={str(k): {str(a): str(b) for a, b in dict(v).items()}
                 for k, v in (authors.get("map") or {}).items() if v is not None},
        declare_fields=bool(raw.get("declare_fields", True)),
        fields=tuple(fields),
        path=where,
    )


def slug(text: str) -> str | None:
    """A desk name for a ServiceNow name: "Group 56" -> group-56."""
    value = _SLUG_OUT.sub("-", text.strip()).lower()
    value = re.sub(r"^[^a-z0-9]+", "", value).rstrip("-")
    return value or None


def check_mapping(mapping: Mapping, config: DeskConfig, workflow: Workflow,
                  columns: list[str]) -> None:
    """The mapping's values must be the desk's; its templates must name columns."""
    problems = []

    def within(table: dict[str, str], allowed: tuple[str, ...] | list[str], name: str) -> None:
        for key, value in table.items():
            if allowed and value not in allowed:
                problems.append(f"{name}.{key}: {value!r} is not one of: {', '.join(allowed)}")

    within(mapping.states, list(workflow.states), "states")
    within(mapping.pending_reasons, config.pending_reasons, "pending_reasons")
    within(mapping.impact, config.impacts, "impact")
    within(mapping.urgency, config.urgencies, "urgency")
    within(mapping.priority, list(config.priorities), "priority")
    within(mapping.resolution_codes, config.resolution_codes, "resolution_codes")
    for key, value, allowed in (
            ("default_pending_reason", mapping.default_pending_reason, config.pending_reasons),
            ("default_resolution_code", mapping.default_resolution_code,
             config.resolution_codes)):
        if allowed and value not in allowed:
            problems.append(f"{key}: {value!r} is not one of: {', '.join(allowed)}")
    for name, table in (("groups", mapping.groups), ("assignees", mapping.assignees)):
        for key, value in table.items():
            if not NAME_RE.match(value):
                problems.append(f"{name}.{key}: {value!r} is not a name "
                                "(letters, digits and _.@+-)")
    for name, template in (("summary", mapping.summary), ("solution", mapping.solution)):
        try:
            used = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        for column in used:
            if column not in columns:
                problems.append(f"{name}: {{{column}}} is not a column of the CSV")
    for spec in mapping.fields:
        if spec.column not in columns:
            problems.append(f"fields.{spec.id}: column {spec.column!r} is not in the CSV")
        if not NAME_RE.match(spec.id):
            problems.append(f"fields.{spec.id}: not a field name (letters, digits and _.@+-)")
    if problems:
        raise InvalidFile(mapping.path, problems,
                          hint="edit the mapping (see `gitdesk import servicenow --show-mapping`)")



def extended_config(text: bytes, config: DeskConfig, mapping: Mapping,
                    categories: Iterable[tuple[str | None, str | None]]) -> bytes | None:
    """The desk's config (text) with what the mapping needs of it: the categories
    and subcategories the log uses (after the mapping's maps) and the custom
    fields it declares; None when it needs nothing or must not extend the config."""
    if not mapping.extend_config:
        return None
    known = config.types[mapping.type].categories
    wanted: dict[str, set[str]] = {}
    if known:
        for category, subcategory in categories:
            if category is None:
                continue
            subs = wanted.setdefault(category, set())
            if subcategory is not None:
                subs.add(subcategory)
    add_categories = {c: sorted(s - set(known.get(c, ())), key=natural)
                      for c, s in wanted.items()
                      if c not in known or (known[c] and s - set(known[c]))}
    declared = {f.id for f in config.types[mapping.type].fields}
    add_fields = [f for f in mapping.fields if f.id not in declared] \
        if mapping.declare_fields else []
    if not add_categories and not add_fields:
        return None
    data = yamlio.load(text, CONFIG_PATH)
    spec = data["types"][mapping.type]
    if add_categories:
        categories_of = spec["categories"]
        for category in sorted(add_categories, key=natural):
            names = add_categories[category]
            if category in categories_of and categories_of[category] is not None:
                categories_of[category].extend(names)
            else:
                items = yamlio.seq(names)
                items.fa.set_flow_style()
                categories_of[category] = items
    if add_fields:
        if spec.get("fields") is None:
            spec["fields"] = yamlio.seq()
        for f in add_fields:
            spec["fields"].append(yamlio.block_map(
                {"id": f.id, "caption": f.caption, "title": f.caption, "format": f.format}))
    out = yamlio.dump(data)
    parse_config(out)  # raises InvalidFile naming the problem
    return out


def natural(text: str) -> list[Any]:
    """Sort key that puts "Category 9" before "Category 10"."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]
