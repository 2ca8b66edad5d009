"""Values and entry lists for the ticket merge (domain.merge): equality and order that
hold on any machine (canonical JSON, never Python hashes), the union of append-only
lists, the link set, time order.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from gitdesk.domain.clock import parse_time


class _Absent:
    """The value of a key a version does not have: removing a key is a change too."""

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()


def token(value: Any) -> str:
    """Canonical JSON of a value ("" if absent): list entries' identity and the last
    tie-break, never Python hashes."""
    if value is ABSENT:
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def same(a: Any, b: Any) -> bool:
    """Equality as canonical JSON has it (true is not 1, 1 is not 1.0, key order does
    not count), without writing the JSON."""
    if a is b:
        return True
    kind = _kind(a)
    if kind is not _kind(b):
        return False
    if kind is dict:
        return bool(a.keys() == b.keys()) and all(same(a[k], b[k]) for k in a)
    if kind is list:
        return len(a) == len(b) and all(map(same, a, b))
    return bool(a == b)


def _kind(value: Any) -> type:
    for kind in (bool, int, float, str, dict, list):
        if isinstance(value, kind):
            return kind
    return type(value)


def union(ours: list[Any], theirs: list[Any]) -> list[Any]:
    """Every entry of either side (one that a side holds twice, twice) in time order;
    a side that holds everything the other holds is taken as it is."""
    keyed = [[(token(e), e) for e in side] for side in (ours, theirs)]
    mine, other = (Counter(key for key, _e in side) for side in keyed)
    if mine != other and mine >= other:
        return ours
    if mine != other and other >= mine:
        return theirs
    entries = {key: e for side in keyed for key, e in side}
    return in_time_order([(key, entries[key]) for key, count in (mine | other).items()
                           for _ in range(count)])


def merge_links(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any]:
    """The base's links that neither side removed, in their order, then the links
    either side added, by rel and id."""
    before = [token(x) for x in base]
    have = [{token(x) for x in side} for side in (ours, theirs)]
    kept: dict[str, Any] = {}
    for link, key in zip(base, before, strict=True):
        if key in have[0] and key in have[1]:
            kept.setdefault(key, link)
    added: dict[str, Any] = {}
    for link in (*ours, *theirs):
        key = token(link)
        if key not in before:
            added.setdefault(key, link)
    return [*kept.values(), *sorted(added.values(), key=_link_order)]


def _link_order(link: Any) -> tuple[str, str, str]:
    if isinstance(link, Mapping):
        return str(link.get("rel", "")), str(link.get("id", "")), token(link)
    return "", "", token(link)


def in_time_order(keyed: list[tuple[str, Any]]) -> list[Any]:
    """Entries (with their tokens) by `at`, unknown times first, ties by token."""
    def moment(item: tuple[str, Any]) -> tuple[int, float, str]:
        at = item[1].get("at") if isinstance(item[1], Mapping) else None
        try:
            return 1, parse_time(str(at)).timestamp(), item[0]
        except (ValueError, TypeError, OverflowError):
            return 0, 0.0, item[0]

    return [e for _key, e in sorted(keyed, key=moment)]
