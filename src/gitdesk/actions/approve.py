"""approve and reject: one signed commit per decision; and what a ticket still needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gitdesk import gitio
from gitdesk.domain.approvals import (
    Approver,
    Shortfall,
    content_hash,
    current_approvers,
    groups_for,
    required_levels,
    shortfalls,
)
from gitdesk.domain.catalog import Level
from gitdesk.domain.clock import Identity, iso
from gitdesk.domain.config import DeskConfig, Policy, Workflow
from gitdesk.domain.model import Note, Ticket, ticket_path
from gitdesk.errors import GitdeskError, RuleViolation
from gitdesk.store.write import Change, Desk, Snapshot, Written
from gitdesk.verify.signing import SigningKey
from gitdesk.yaml import roundtrip as yamlio

SETUP_HINT = (
    "set up commit signing with a key listed for you in .gitdesk/policy.yaml, e.g. for SSH:\n"
    "  git config gpg.format ssh\n"
    "  git config user.signingkey ~/.ssh/id_ed25519\n"
    "  (and ask a policy admin to add your public key to people.<you>.keys)")


def awaiting_approval(workflow: Workflow, status: str) -> bool:
    """Whether the ticket sits in front of an approval gate."""
    return any(workflow.states[t].approval for t in workflow.allowed(status)
               if t in workflow.states)


def decide(desk: Desk, query: str, *, approve: bool, comment: str | None) -> Written:
    """Append one approval or rejection entry, in a commit signed by the approver."""
    author = gitio.identity(desk.repo, "COMMITTER")
    key = SigningKey.from_git(desk.repo, author.email)
    if key is None:
        raise GitdeskError("approving needs a signing key, and git has none configured",
                           hint=SETUP_HINT)

    def build(snap: Snapshot, now: datetime, ident: Identity) -> Change:
        ticket = snap.ticket(query)
        config, policy = snap.config, snap.policy
        person = policy.person_by_email(ident.email)
        if person is None:
            raise RuleViolation(f"your git email {ident.email} is not a person of the policy",
                                hint="set user.email to the address the policy lists for you")
        if not person.keys:
            raise RuleViolation(f"the policy lists no signing key for {person.id}",
                                hint=SETUP_HINT)
        workflow = config.workflow_for(ticket.type, ticket.data)
        if not awaiting_approval(workflow, ticket.status):
            raise RuleViolation(f"{ticket.id} is {ticket.status}: not awaiting approval")
        data = ticket.plain()
        levels = required_levels(config, policy, data)
        if not levels:
            raise RuleViolation(f"{ticket.id} needs no approvals under the policy")
        groups = groups_for(levels, policy, person.id)
        if not groups:
            asked = ", ".join(f"{lv.group}" for lv in levels)
            raise RuleViolation(f"{person.id} is not in a group whose approval {ticket.id} "
                                f"needs ({asked})")
        group = _first_open_group(levels, groups, data, policy)
        entry: dict[str, Any] = {
            "by": person.id, "decision": "approved" if approve else "rejected",
            "at": iso(now), "level": [lv.group for lv in levels].index(group),
            "group": group, "content_hash": content_hash(data)}
        if comment:
            entry["comment"] = comment
        ticket.append("approvals", yamlio.flow_map(entry))
        verb = "approve" if approve else "reject"
        change = Change(subject=f"{ticket.id}: {verb}" + (f" — {comment}" if comment else ""),
                        action=verb, trailers=[("Gitdesk-Approval", entry["decision"])])
        if not approve:
            _send_back(workflow, ticket, person.id, comment or "", now, change)
        change.put(ticket)
        return change

    return desk.commit(build, signer=key.sign)


def _first_open_group(levels: list[Level], groups: list[str], data: dict[str, Any],
                      policy: Policy) -> str:
    missing = {s.level.group for s in shortfalls(levels, current_approvers(data), policy)}
    return next((g for g in groups if g in missing), groups[0])


def _send_back(workflow: Workflow, ticket: Ticket, who: str, reason: str, now: datetime,
               change: Change) -> None:
    """A rejection ends a request (rejected) or sends a change back to new."""
    allowed = workflow.allowed(ticket.status)
    target = next((s for s in ("rejected", "new") if s in allowed), None)
    if target is None:
        return
    change.trailers += [("Gitdesk-From", ticket.status), ("Gitdesk-To", target)]
    ticket.set("status", target)
    ticket.append("notes", Note(iso(now), who, f"Rejected: {reason}").to_yaml())


@dataclass(frozen=True)
class ApprovalState:
    """One approval entry as `show` explains it."""

    entry: dict[str, Any]
    validity: str  # valid, voided, superseded, untrusted, rejected

    def record(self) -> dict[str, Any]:
        return {**self.entry, "validity": self.validity}


def approval_states(desk: Desk, snap: Snapshot, ticket: Ticket) -> list[ApprovalState]:
    """Each approval with its validity: voided by a later edit, signature not trusted..."""
    data = ticket.plain()
    digest = content_hash(data)
    entries = list(data.get("approvals") or [])
    trusted = _trusted_entries(desk, ticket.path, len(entries))
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


def trusted_approvers(desk: Desk, data: dict[str, Any]) -> list[Approver]:
    """Approvers whose latest decision approves the current content, counting only
    entries whose commits pass the verifier (a hand-made, unsigned approval in
    local history does not count, even before a server would refuse it)."""
    path = ticket_path(str(data["type"]), str(data["id"]))
    entries = list(data.get("approvals") or [])
    trusted = _trusted_entries(desk, path, len(entries))
    digest = content_hash(data)
    latest: dict[str, tuple[dict[str, Any], bool]] = {}
    for i, entry in enumerate(entries):
        latest[str(entry.get("by"))] = (entry, trusted.get(i, False))
    return [(who, entry.get("group")) for who, (entry, ok) in latest.items()
            if ok and entry.get("decision") == "approved"
            and entry.get("content_hash") == digest]


def _trusted_entries(desk: Desk, path: str, count: int) -> dict[int, bool]:
    """Whether the commit that added each entry passes the verifier."""
    from gitdesk.verify.commits import verify_commit

    if count == 0:
        return {}
    out = gitio.run_git(desk.repo, ["log", "--reverse", "--format=%H", desk.ref, "--", path])
    result: dict[int, bool] = {}
    seen = 0
    for oid in out.decode().split():
        commit = gitio.get_commit(desk.repo, oid)
        data = gitio.read_blob(desk.repo, commit.tree, path)
        if data is None:
            continue
        now_count = len(yamlio.load(data, path).get("approvals") or [])
        if now_count > seen:
            ok = not [v for v in verify_commit(desk.repo, commit)
                      if v.rule in ("signature", "approver", "approval")]
            for i in range(seen, now_count):
                result[i] = ok
            seen = now_count
    return result


def missing(desk: Desk, config: DeskConfig, policy: Policy,
            data: dict[str, Any]) -> list[Shortfall]:
    """What the ticket still needs, counting only trusted approvals."""
    return shortfalls(required_levels(config, policy, data), trusted_approvers(desk, data),
                      policy)
