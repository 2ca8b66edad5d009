"""Write actions of the ITIL disciplines that are not plain field edits."""

from __future__ import annotations

from datetime import datetime

from gitdesk.actions.tickets import edit
from gitdesk.domain import incident
from gitdesk.domain.clock import iso
from gitdesk.domain.model import Note, Ticket
from gitdesk.errors import RuleViolation, UsageError
from gitdesk.store.write import Change, Desk, Snapshot, Written
from gitdesk.yaml import roundtrip as yamlio


def escalate(desk: Desk, query: str, *, to_group: str | None, up: bool, text: str,
             assignee: str | None = None) -> Written:
    """Functional (--to GROUP) or hierarchic (--up) escalation, recorded as an event."""
    if bool(to_group) == up:
        raise UsageError("give exactly one of --to GROUP (functional) or --up (hierarchic)")
    if not text.strip():
        raise UsageError("say why: -m TEXT")

    def apply(snap: Snapshot, ticket: Ticket, now: datetime, by: str, change: Change) -> str:
        policy = snap.policy
        if to_group:
            workflow = snap.config.workflow_for(ticket.type, ticket.data)
            needs = "assignee" in workflow.states[ticket.status].requires
            return incident.escalate_functional(policy, ticket, to_group, text, by, now,
                                                assignee=assignee, needs_assignee=needs)
        return incident.escalate_hierarchic(policy, ticket, text, by, now)

    return edit(desk, query, "escalate", apply)


def assess_risk(desk: Desk, query: str, *, answers: dict[str, bool]) -> Written:
    """Set a change's risk from the configured questionnaire's answers."""
    def apply(snap: Snapshot, ticket: Ticket, now: datetime, by: str, change: Change) -> str:
        model = snap.config.risk
        if ticket.type != "change":
            raise RuleViolation(f"{ticket.id} is not a change; risk is assessed for changes")
        if model is None:
            raise RuleViolation("the desk's config has no risk_questionnaire",
                                hint="set risk directly: gitdesk set CHG-... risk=medium")
        unknown = [k for k in answers if k not in {q.id for q in model.questions}]
        if unknown:
            raise UsageError(f"--answer: unknown question {unknown[0]!r}",
                             hint=f"questions: {', '.join(q.id for q in model.questions)}")
        missing = [q.id for q in model.questions if q.id not in answers]
        if missing:
            raise UsageError(f"missing --answer {missing[0]}=yes|no")
        level, score = model.level(answers)
        ticket.set("risk", level)
        ticket.set("risk_answers", yamlio.flow_map(
            {q.id: answers[q.id] for q in model.questions}))
        yes = [q.id for q in model.questions if answers[q.id]]
        ticket.append("notes", Note(iso(now), by, f"Risk assessed {level} (score {score}; "
                                    f"yes: {', '.join(yes) or 'none'})").to_yaml())
        return f"risk — {level} (score {score})"

    return edit(desk, query, "risk", apply)
