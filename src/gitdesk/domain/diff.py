"""What changed between two versions of a ticket: the one field diff behind the
event index and `gitdesk history`.

A version is plain data, a mapping as the YAML readers give it (None or empty:
the file did not exist). Each change is (field, old, new), named by what it
touched:

- a ticket key (`status`, `summary`, ...): a missing key and a None value are
  the same, so adding or removing a key with a value is a change from or to
  None; keys come in the new version's order, then the removed ones;
- `fields.NAME`, one per custom field that changed (or, with `custom=False`,
  `fields` as one value among the keys);
- `notes`, `approvals`, `events`: an entry appended to that list, old None and
  new the entry (the lists are append-only: what is past the old length is new);
- `links`: a link added (new "REL ID") or removed (old "REL ID"), the added
  ones first, each sorted.

The changes come in that order (keys, custom fields, entries, links), so the
entries and links are always the tail of the list. `values` gives a new
ticket's keys and custom fields alone. Unchanged values are settled by identity
before `==`: a history walk reads consecutive versions with the shared YAML
line memo, which gives the value of an unchanged line as the same object.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any, TypeAlias

Change: TypeAlias = tuple[str, Any, Any]

CUSTOM = "fields"
ENTRIES = ("notes", "approvals", "events")
LINKS = "links"
LISTS = frozenset((*ENTRIES, LINKS))  # compared entry by entry, never as one value
_PREFIX = f"{CUSTOM}."
_NOT_KEYS = LISTS | {CUSTOM}
_MISSING = object()
_NOTHING: Mapping[str, Any] = {}


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any], *,
         custom: bool = True) -> list[Change]:
    """Every change from `old` to `new`, in the order the module docstring gives."""
    old = old or _NOTHING
    skip = _NOT_KEYS if custom else LISTS
    changes: list[Change] = []
    for key, after in new.items():
        before = old.get(key, _MISSING)
        if before is after or key in skip:
            continue
        if before is _MISSING:
            if after is not None:
                changes.append((key, None, after))
        elif before != after:
            changes.append((key, before, after))
    for key, before in old.items():
        if key not in new and key not in skip and before is not None:
            changes.append((key, before, None))
    if custom:
        before_fields, after_fields = old.get(CUSTOM) or _NOTHING, new.get(CUSTOM) or _NOTHING
        if before_fields is not after_fields:
            for key in dict.fromkeys([*after_fields, *before_fields]):
                before, after = before_fields.get(key), after_fields.get(key)
                if before != after:
                    changes.append((f"{_PREFIX}{key}", before, after))
    for key in ENTRIES:
        items, before = new.get(key) or (), old.get(key) or ()
        if list(items[:len(before)]) == list(before):  # appended, as every action does
            changes += [(key, None, item) for item in items[len(before):]]
        else:  # a merge interleaves both sides' entries in time order
            changes += [(key, None, item) for item in _added(before, items)]
    if old.get(LINKS) is not new.get(LINKS):
        before_links, after_links = _links(old), _links(new)
        changes += [(LINKS, None, link_text(*link)) for link in sorted(after_links - before_links)]
        changes += [(LINKS, link_text(*link), None) for link in sorted(before_links - after_links)]
    return changes


def values(version: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(field, value) of every key and custom field (`fields.NAME`) with a value,
    the lists left out: what diff(None, version) gives before its entries and links."""
    found = [(key, value) for key, value in version.items()
             if key not in _NOT_KEYS and value is not None]
    found += [(f"{_PREFIX}{key}", value) for key, value in
              (version.get(CUSTOM) or _NOTHING).items() if value is not None]
    return found


def _links(version: Mapping[str, Any]) -> set[tuple[Any, Any]]:
    return {(link.get("rel"), link.get("id")) for link in version.get(LINKS) or ()}


def link_text(rel: Any, other: Any) -> str:
    """A link as a change names it: "REL ID"."""
    return f"{rel} {other}"


def value(version: Mapping[str, Any], field: str) -> Any:
    """The value in `version` of a ticket key or a custom field (`fields.NAME`)."""
    if field.startswith(_PREFIX):
        return (version.get(CUSTOM) or _NOTHING).get(field[len(_PREFIX):])
    return version.get(field)


def _added(before: Any, after: Any) -> list[Any]:
    """The entries of after that before does not have (counted, so a repeat is new)."""
    have = Counter(_token(item) for item in before)
    out = []
    for item in after:
        token = _token(item)
        if have[token]:
            have[token] -= 1
        else:
            out.append(item)
    return out


def _token(item: Any) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False, default=str)
