"""Approval levels and whether a ticket's approvals satisfy them.

Levels come from the request catalog (service requests) and from the
policy's approval rules (changes and requests). Each level asks for `count`
approvals by distinct members of a group. Which approval entries count as
valid (signed by the named approver, not voided by a later edit) is decided
by the verifier; this module counts what it is given.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gitdesk.catalog import Level
from gitdesk.config import DeskConfig, Policy


@dataclass(frozen=True)
class Shortfall:
    level: Level
    have: tuple[str, ...]
    candidates: tuple[str, ...]

    def __str__(self) -> str:
        have = f"has {len(self.have)}: {', '.join(self.have)}" if self.have else "has 0"
        ask = f"; ask: {', '.join(self.candidates)}" if self.candidates else ""
        return (f"needs {self.level.count} approval(s) from group {self.level.group} "
                f"({have}){ask}")


def required_levels(config: DeskConfig, policy: Policy | None,
                    data: dict[str, Any]) -> list[Level]:
    levels: list[Level] = []
    if data.get("type") == "request" and data.get("request_type") in config.catalog:
        levels += config.catalog[data["request_type"]].approvals
    if policy is not None:
        for rule in policy.rules:
            if rule_selects(rule, data):
                levels += [Level(str(r["group"]), int(r.get("count", 1)))
                           for r in rule.get("require", [])]
    return _merge(levels)


def _merge(levels: Iterable[Level]) -> list[Level]:
    """Several rules asking the same group add up to the largest count asked."""
    merged: dict[str, int] = {}
    for level in levels:
        merged[level.group] = max(merged.get(level.group, 0), level.count)
    return [Level(group, count) for group, count in merged.items()]


def rule_selects(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    """A policy rule's `when` selects tickets by type, change_type, request_type,
    CI or service glob, category and risk; every key given must match."""
    when = rule.get("when") or {}
    for key, wanted in when.items():
        options = wanted if isinstance(wanted, list) else [wanted]
        if key in ("ci", "service"):
            values = _cis(data) if key == "ci" else list(data.get("services") or [])
            if not any(fnmatch.fnmatchcase(v, str(o)) for v in values for o in options):
                return False
        elif data.get(key) not in options:
            return False
    return True


def _cis(data: dict[str, Any]) -> list[str]:
    values = list(data.get("cis") or [])
    if data.get("ci"):
        values.append(str(data["ci"]))
    return values


def shortfalls(levels: list[Level], approvers: Iterable[str],
               policy: Policy | None) -> list[Shortfall]:
    """What is still missing, given the people whose approvals are valid."""
    approved = list(dict.fromkeys(approvers))
    missing = []
    for level in levels:
        group = policy.groups.get(level.group) if policy is not None else None
        members = group.members if group is not None else ()
        have = tuple(p for p in approved if p in members)
        if len(have) < level.count:
            candidates = tuple(m for m in members if m not in have)
            missing.append(Shortfall(level, have, candidates))
    return missing




# What an approver reviews: editing any of it afterwards voids the approval.
REVIEWED = ("type", "summary", "description", "change_type", "request_type", "risk",
            "implementation_plan", "backout_plan", "test_plan", "window", "ci", "cis",
            "services")


def content_hash(data: dict[str, Any]) -> str:
    reviewed = {key: data.get(key) for key in REVIEWED}
    text = json.dumps(reviewed, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_approvers(data: dict[str, Any]) -> list[str]:
    """Approvers whose latest decision is `approved` on the content as it is now.

    Entries whose content hash no longer matches were voided by a later edit.
    Whether each entry was signed by its approver is checked when the commit
    that added it is verified.
    """
    digest = content_hash(data)
    latest: dict[str, tuple[str, str]] = {}
    for entry in data.get("approvals") or []:
        latest[str(entry.get("by"))] = (str(entry.get("decision")),
                                        str(entry.get("content_hash")))
    return [who for who, (decision, seen) in latest.items()
            if decision == "approved" and seen == digest]


def groups_for(levels: list[Level], policy: Policy | None, person: str) -> list[str]:
    if policy is None:
        return []
    return [level.group for level in levels
            if level.group in policy.groups and person in policy.groups[level.group].members]
