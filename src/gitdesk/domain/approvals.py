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

from gitdesk.domain.catalog import Level
from gitdesk.domain.config import DeskConfig, Policy


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
            if not any(fnmatch.fnmatchcase(_name(v), _name(o)) for v in values for o in options):
                return False
        elif data.get(key) not in options:
            return False
    return True


def _name(value: Any) -> str:
    """CI and service names match whatever their case and surrounding blanks."""
    return str(value).strip().casefold()


def _cis(data: dict[str, Any]) -> list[str]:
    values = list(data.get("cis") or [])
    if data.get("ci"):
        values.append(str(data["ci"]))
    return values


Approver = tuple[str, str | None]  # (person, the group the approval was given for)


def shortfalls(levels: list[Level], approvers: Iterable[Approver],
               policy: Policy | None) -> list[Shortfall]:
    """What is still missing, given the valid approvals.

    One person's approval counts once, toward the group it was given for (an
    entry without a group counts toward the first level the person can fill),
    so somebody in both the CAB and the DBAs cannot authorize a database change
    alone."""
    counted: dict[str, list[str]] = {level.group: [] for level in levels}
    loose = []
    for person, group in dict.fromkeys(approvers):
        if group in counted and _member(policy, group, person):
            counted[group].append(person)
        elif group is None:
            loose.append(person)
    for person in loose:
        for level in levels:
            if _member(policy, level.group, person) and len(counted[level.group]) < level.count:
                counted[level.group].append(person)
                break
    used = {p for people in counted.values() for p in people}
    missing = []
    for level in levels:
        have = tuple(counted[level.group])
        if len(have) < level.count:
            found = policy.groups.get(level.group) if policy is not None else None
            members = found.members if found is not None else ()
            candidates = tuple(m for m in members if m not in used)
            missing.append(Shortfall(level, have, candidates))
    return missing


def _member(policy: Policy | None, group: str | None, person: str) -> bool:
    if policy is None or group is None or group not in policy.groups:
        return False
    return person in policy.groups[group].members




# What an approver reviews: editing any of it afterwards voids the approval.
REVIEWED = ("type", "summary", "description", "change_type", "request_type", "risk",
            "implementation_plan", "backout_plan", "test_plan", "window", "ci", "cis",
            "services")


def content_hash(data: dict[str, Any]) -> str:
    reviewed = {key: data.get(key) for key in REVIEWED}
    text = json.dumps(reviewed, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_approvers(data: dict[str, Any]) -> list[Approver]:
    """Approvers whose latest decision is `approved` on the content as it is now.

    Entries whose content hash no longer matches were voided by a later edit.
    Whether each entry was signed by its approver is checked when the commit
    that added it is verified.
    """
    digest = content_hash(data)
    latest: dict[str, dict[str, Any]] = {}
    for entry in data.get("approvals") or []:
        latest[str(entry.get("by"))] = entry
    return [(who, entry.get("group")) for who, entry in latest.items()
            if entry.get("decision") == "approved" and entry.get("content_hash") == digest]


def groups_for(levels: list[Level], policy: Policy | None, person: str) -> list[str]:
    if policy is None:
        return []
    return [level.group for level in levels
            if level.group in policy.groups and person in policy.groups[level.group].members]


def barred(policy: Policy | None, data: dict[str, Any], person: str,
           opened_by: str | None = None) -> str | None:
    """Why separation of duties bars `person` from approving the ticket, or None: the
    requester (the submitter, or `opened_by`, who opened it) and the implementer (the
    assignee), as far as the policy's separation_of_duties names them."""
    if policy is None:
        return None
    if "implementer" in policy.separation and data.get("assignee") == person:
        return "implements it"
    if "requester" in policy.separation:
        submitter = data.get("submitter") or {}
        email = submitter.get("email") if isinstance(submitter, dict) else None
        found = policy.person_by_email(str(email)) if email else None
        if person in {found.id if found else None, opened_by}:
            return "requested it"
    return None
