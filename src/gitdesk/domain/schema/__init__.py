"""JSON Schemas for desk files, and a small validator for the subset they use.

The schemas are standard JSON Schema (draft 2020-12) files that other tools
can use. gitdesk validates with the compact validator below instead of the
`jsonschema` package because every command validates what it reads and the
import of `jsonschema` alone would cost more than the rest of a command's
start-up; the test suite checks both agree on the shipped schemas.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS = ("ticket", "config", "policy")


@cache
def schema_tag() -> str:
    """Which schemas validated a cached file: another gitdesk version checks anew."""
    digest = hashlib.sha1(usedforsecurity=False)
    for name in SCHEMAS:
        digest.update((Path(__file__).parent / f"{name}.schema.json").read_bytes())
    return digest.hexdigest()[:12]


def cache_name(kind: str, oid: str) -> str:
    """The file in .git/gitdesk/cache/ that holds a parsed `kind` (config, policy) blob,
    for these schemas: the commands and the merge driver share it."""
    return f"{kind}-{oid}-{schema_tag()}.json"


@cache
def load_schema(name: str) -> dict[str, Any]:
    text = (Path(__file__).parent / f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


class SchemaError:
    """One problem: where (a key path) and what."""

    __slots__ = ("message", "path")

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        self.path = path
        self.message = message

    @property
    def where(self) -> str:
        return ".".join(str(p) for p in self.path) or "(top level)"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def __repr__(self) -> str:
        return f"SchemaError({self.path!r}, {self.message!r})"


def validate(name: str, data: Any) -> list[SchemaError]:
    root = load_schema(name)
    errors: list[SchemaError] = []
    _check(root, root, data, (), errors)
    return errors


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1.0 is 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    for name in ("boolean", "integer", "number", "string", "array", "object"):
        if _is_type(value, name):
            return name
    return type(value).__name__


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    resolved: dict[str, Any] = node  # the schema's own dict: its id() is stable
    return resolved


# Scalars already found valid against a (sub)schema, by (id of the schema dict,
# type, value). Every schema dict is part of a cached, never-freed schema
# (load_schema), so ids are not reused; the index validates thousands of
# tickets whose scalar values repeat (states, priorities, groups).
_SCALARS = frozenset((str, int, float, bool, type(None)))
_VALID: set[tuple[int, type, Any]] = set()
_VALID_LIMIT = 200_000


def _check(root: dict[str, Any], schema: dict[str, Any] | bool, value: Any,
           path: tuple[str | int, ...], errors: list[SchemaError]) -> None:
    if schema is True:
        return
    if schema is False:
        errors.append(SchemaError(path, "is not allowed here"))
        return
    if type(value) in _SCALARS:
        key = (id(schema), type(value), value)
        if key in _VALID:
            return
        found = len(errors)
        _check_schema(root, schema, value, path, errors)
        if len(errors) == found:
            if len(_VALID) > _VALID_LIMIT:
                _VALID.clear()
            _VALID.add(key)
        return
    _check_schema(root, schema, value, path, errors)


def _check_schema(root: dict[str, Any], schema: dict[str, Any], value: Any,
                  path: tuple[str | int, ...], errors: list[SchemaError]) -> None:
    if "$ref" in schema:
        _check(root, _resolve(root, schema["$ref"]), value, path, errors)
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is_type(value, n) for n in names):
            errors.append(SchemaError(path, f"must be {' or '.join(names)}, "
                                            f"not {_describe(value)}"))
            return
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(SchemaError(path, f"{json.dumps(value, default=str)} is not one of "
                                        f"{allowed}"))
    if "const" in schema and not _same(value, schema["const"]):
        errors.append(SchemaError(path, f"must be {json.dumps(schema['const'])}"))
    if isinstance(value, str):
        _check_string(schema, value, path, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(SchemaError(path, f"must be at least {schema['minimum']}"))
    elif isinstance(value, dict):
        _check_object(root, schema, value, path, errors)
    elif isinstance(value, list):
        _check_array(root, schema, value, path, errors)
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            _check_alternatives(root, schema[keyword], keyword, value, path, errors)


def _check_alternatives(root: dict[str, Any], options: list[Any], keyword: str, value: Any,
                        path: tuple[str | int, ...], errors: list[SchemaError]) -> None:
    results = []
    for option in options:
        sub: list[SchemaError] = []
        _check(root, option, value, path, sub)
        results.append(sub)
    passing = sum(1 for r in results if not r)
    if passing == 0:
        best = min(results, key=len)
        errors.extend(best)
    elif keyword == "oneOf" and passing > 1:
        errors.append(SchemaError(path, "matches more than one allowed form"))


def _check_string(schema: dict[str, Any], value: str, path: tuple[str | int, ...],
                  errors: list[SchemaError]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(SchemaError(path, "must not be empty" if schema["minLength"] == 1
                                  else f"must be at least {schema['minLength']} characters"))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(SchemaError(path, f"must be at most {schema['maxLength']} characters"))
    if "pattern" in schema and not _regex(schema["pattern"]).search(value):
        # a titled pattern is too long to read: its title says what it asks for
        wanted = (f"is not {schema['title']}" if "title" in schema
                  else f"does not match {schema['pattern']}")
        errors.append(SchemaError(path, f"{value!r} {wanted}"))
    if schema.get("format") == "date-time" and not _is_datetime(value):
        errors.append(SchemaError(path, f"{value!r} is not a date-time like "
                                        "2026-11-25T16:21:00Z"))


def _check_object(root: dict[str, Any], schema: dict[str, Any], value: dict[Any, Any],
                  path: tuple[str | int, ...], errors: list[SchemaError]) -> None:
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        errors.append(SchemaError(path, f"must have at least {schema['minProperties']} entries"))
    for key in schema.get("required", []):
        if key not in value:
            errors.append(SchemaError((*path, key), "is required"))
    props = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    for key, item in value.items():
        if not isinstance(key, str):
            errors.append(SchemaError((*path, str(key)), "keys must be strings"))
            continue
        if names is not None:
            _check(root, names, key, (*path, key), errors)
        matched = False
        if key in props:
            matched = True
            _check(root, props[key], item, (*path, key), errors)
        for pattern, sub in patterns.items():
            if _regex(pattern).search(key):
                matched = True
                _check(root, sub, item, (*path, key), errors)
        if not matched:
            if extra is False:
                errors.append(SchemaError((*path, key), "is not a known key"))
            elif isinstance(extra, dict):
                _check(root, extra, item, (*path, key), errors)


def _check_array(root: dict[str, Any], schema: dict[str, Any], value: list[Any],
                 path: tuple[str | int, ...], errors: list[SchemaError]) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(SchemaError(path, f"must have at least {schema['minItems']} items"))
    if schema.get("uniqueItems"):
        seen: list[Any] = []
        for item in value:
            if any(_same(item, other) for other in seen):
                errors.append(SchemaError(path, f"{json.dumps(item, default=str)} is repeated"))
            seen.append(item)
    if "items" in schema:
        for i, item in enumerate(value):
            _check(root, schema["items"], item, (*path, i), errors)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _is_datetime(value: str) -> bool:
    """RFC 3339 date-time, as JSON Schema's `format: date-time` means it."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)",
                        value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
