"""Whose approvals count: entries whose commits pass the verifier, on current content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitdesk import gitio
from gitdesk.domain.approvals import (
    Approver,
    Shortfall,
    content_hash,
    required_levels,
    shortfalls,
)
from gitdesk.domain.config import DeskConfig, Policy
from gitdesk.domain.model import ticket_path
from gitdesk.verify.commits import verify_commit
from gitdesk.yaml import roundtrip as yamlio


@dataclass(frozen=True)
class ApprovalState:
    """One approval entry as `show` explains it."""

    entry: dict[str, Any]
    validity: str  # valid, voided, superseded, untrusted, rejected

    def record(self) -> dict[str, Any]:
        return {**self.entry, "validity": self.validity}


def approval_states(repo: gitio.Repo, ref: str, path: str,
                    data: dict[str, Any]) -> list[ApprovalState]:
    """Each approval with its validity: voided by a later edit, signature not trusted..."""
    digest = content_hash(data)
    entries = list(data.get("approvals") or [])
    trusted = _trusted_entries(repo, ref, path, len(entries))
    latest = {str(e.get("by")): i for i, e in enumerate(entries)}
    states = []
    for i, entry in enumerate(entries):
        if not trusted.get(i, False):
            validity = "signature not trusted"
        elif latest[str(entry.get("by"))] != i:
            validity = "superseded by a later decision"
        elif entry.get("content_hash") != digest:
            validity = "voided by a later edit of reviewed content"
        else:
            validity = "valid" if entry.get("decision") == "approved" else "rejection"
        states.append(ApprovalState(entry, validity))
    return states


def trusted_approvers(repo: gitio.Repo, ref: str, data: dict[str, Any]) -> list[Approver]:
    """Approvers whose latest decision approves the current content, counting only
    entries whose commits pass the verifier (a hand-made, unsigned approval in
    local history does not count, even before a server would refuse it)."""
    path = ticket_path(str(data["type"]), str(data["id"]))
    entries = list(data.get("approvals") or [])
    trusted = _trusted_entries(repo, ref, path, len(entries))
    digest = content_hash(data)
    latest: dict[str, tuple[dict[str, Any], bool]] = {}
    for i, entry in enumerate(entries):
        latest[str(entry.get("by"))] = (entry, trusted.get(i, False))
    return [(who, entry.get("group")) for who, (entry, ok) in latest.items()
            if ok and entry.get("decision") == "approved"
            and entry.get("content_hash") == digest]


def _trusted_entries(repo: gitio.Repo, ref: str, path: str, count: int) -> dict[int, bool]:
    """Whether the commit that added each entry passes the verifier."""
    if count == 0:
        return {}
    out = gitio.run_git(repo, ["log", "--reverse", "--format=%H", ref, "--", path])
    result: dict[int, bool] = {}
    seen = 0
    for oid in out.decode().split():
        commit = gitio.get_commit(repo, oid)
        data = gitio.read_blob(repo, commit.tree, path)
        if data is None:
            continue
        now_count = len(yamlio.load(data, path).get("approvals") or [])
        if now_count > seen:
            ok = not [v for v in verify_commit(repo, commit)
                      if v.rule in ("signature", "approver", "approval")]
            for i in range(seen, now_count):
                result[i] = ok
            seen = now_count
    return result


def missing(repo: gitio.Repo, ref: str, config: DeskConfig, policy: Policy,
            data: dict[str, Any]) -> list[Shortfall]:
    """What the ticket still needs, counting only trusted approvals."""
    return shortfalls(required_levels(config, policy, data), trusted_approvers(repo, ref, data),
                      policy)
