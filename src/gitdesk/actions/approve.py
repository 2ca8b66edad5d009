"""approve and reject: one signed commit per decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gitdesk import gitio
from gitdesk.actions.common import change_of, context
from gitdesk.domain.approvals import (
    barred,
    content_hash,
    current_approvers,
    groups_for,
    required_levels,
    shortfalls,
)
from gitdesk.domain.catalog import Level
from gitdesk.domain.clock import Identity, iso
from gitdesk.domain.config import Person, Policy, Workflow
from gitdesk.domain.edits import Context, Edit
from gitdesk.domain.model import Flow, Note, Ticket
from gitdesk.errors import GitdeskError, RuleViolation
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, Desk, Written
from gitdesk.verify.signing import SigningKey

SETUP_HINT = (
    "set up commit signing with a key listed for you in .gitdesk/policy.yaml, e.g. for SSH:\n"
    "  git config gpg.format ssh\n"
    "  git config user.signingkey ~/.ssh/id_ed25519\n"
    "  (and ask a policy admin to add your public key to people.<you>.keys)")


def awaiting_approval(workflow: Workflow, status: str) -> bool:
    """Whether the ticket sits in front of an approval gate."""
    return not workflow.authorized(status) and any(
        workflow.authorized(t) for t in workflow.allowed(status) if t in workflow.states)


def decide(desk: Desk, query: str, *, approve: bool, comment: str | None) -> Written:
    """Append one approval or rejection entry, in a commit signed by the approver."""
    author = gitio.identity(desk.repo, "COMMITTER")
    key = SigningKey.from_git(desk.repo, author.email)
    if key is None:
        raise GitdeskError("approving needs a signing key, and git has none configured",
                           hint=SETUP_HINT)

    def build(snap: Snapshot, now: datetime, ident: Identity) -> Change:
        ticket = snap.ticket(query)
        person = snap.policy.person_by_email(ident.email)
        if person is None:
            raise RuleViolation(f"your git email {ident.email} is not a person of the policy",
                                hint="set user.email to the address the policy lists for you")
        ctx = context(snap, now, ident, {ticket.id: ticket})
        edit = decision(ticket, ctx, person=person, approve=approve, comment=comment)
        edit.touch(ticket)
        return change_of(edit, "approve" if approve else "reject")

    return desk.commit(build, signer=key.sign)


def decision(ticket: Ticket, ctx: Context, *, person: Person, approve: bool,
             comment: str | None) -> Edit:
    """One approval or rejection by `person`, for the first of their groups still short
    of approvals; a rejection sends the ticket back (or ends a request)."""
    config, policy = ctx.config, ctx.policy
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
    why = barred(policy, data, person.id) if approve else None
    if why:
        raise RuleViolation(f"{person.id} {why} and may not approve {ticket.id} "
                            "(separation_of_duties in the policy)",
                            hint="another member of the group approves")
    groups = groups_for(levels, policy, person.id)
    if not groups:
        asked = ", ".join(f"{lv.group}" for lv in levels)
        raise RuleViolation(f"{person.id} is not in a group whose approval {ticket.id} "
                            f"needs ({asked})")
    group = _first_open_group(levels, groups, data, policy)
    entry: dict[str, Any] = {
        "by": person.id, "decision": "approved" if approve else "rejected",
        "at": iso(ctx.now), "level": [lv.group for lv in levels].index(group),
        "group": group, "content_hash": content_hash(data)}
    if comment:
        entry["comment"] = comment
    ticket.append("approvals", Flow(entry))
    verb = "approve" if approve else "reject"
    edit = Edit(subject=f"{ticket.id}: {verb}" + (f" — {comment}" if comment else ""),
                trailers=[("Gitdesk-Approval", entry["decision"])])
    if not approve:
        _send_back(workflow, ticket, person.id, comment or "", ctx, edit)
    return edit


def _first_open_group(levels: list[Level], groups: list[str], data: dict[str, Any],
                      policy: Policy) -> str:
    missing = {s.level.group for s in shortfalls(levels, current_approvers(data), policy)}
    return next((g for g in groups if g in missing), groups[0])


def _send_back(workflow: Workflow, ticket: Ticket, who: str, reason: str, ctx: Context,
               edit: Edit) -> None:
    """A rejection ends a request (rejected) or sends a change back to new."""
    allowed = workflow.allowed(ticket.status)
    target = next((s for s in ("rejected", "new") if s in allowed), None)
    if target is None:
        return
    edit.trailers += [("Gitdesk-From", ticket.status), ("Gitdesk-To", target)]
    ticket.set("status", target)
    ticket.append("notes", Note(iso(ctx.now), who, f"Rejected: {reason}").entry())
