"""Write actions of the ITIL disciplines that are not plain field edits."""

from __future__ import annotations

from gitdesk.actions.common import commit_rule
from gitdesk.domain import incident
from gitdesk.domain.clock import iso
from gitdesk.domain.edits import Context, Edit
from gitdesk.domain.model import Flow, Note, Ticket
from gitdesk.errors import RuleViolation, UsageError
from gitdesk.store.write import Desk, Written


def escalate(desk: Desk, query: str, *, to_group: str | None, up: bool, text: str,
             assignee: str | None = None) -> Written:
    """Functional (--to GROUP) or hierarchic (--up) escalation, recorded as an event."""
    if bool(to_group) == up:
        raise UsageError("give exactly one of --to GROUP (functional) or --up (hierarchic)")
    if not text.strip():
        raise UsageError("say why: -m TEXT")
    return commit_rule(desk, query, "escalate", lambda t, c: escalated(
        t, c, to_group=to_group, text=text, assignee=assignee))


def escalated(ticket: Ticket, ctx: Context, *, to_group: str | None, text: str,
              assignee: str | None = None) -> Edit:
    """Functional escalation to `to_group`, or hierarchic when it is None."""
    if to_group:
        workflow = ctx.config.workflow_for(ticket.type, ticket.data)
        needs = "assignee" in workflow.states[ticket.status].requires
        subject = incident.escalate_functional(ctx.policy, ticket, to_group, text, ctx.by,
                                               ctx.now, assignee=assignee, needs_assignee=needs)
    else:
        subject = incident.escalate_hierarchic(ctx.policy, ticket, text, ctx.by, ctx.now)
    return Edit(subject=f"{ticket.id}: {subject}")


def assess_risk(desk: Desk, query: str, *, answers: dict[str, bool]) -> Written:
    """Set a change's risk from the configured questionnaire's answers."""
    return commit_rule(desk, query, "risk", lambda t, c: risk_assessed(t, c, answers=answers))


def risk_assessed(ticket: Ticket, ctx: Context, *, answers: dict[str, bool]) -> Edit:
    model = ctx.config.risk
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
    ticket.set("risk_answers", Flow({q.id: answers[q.id] for q in model.questions}))
    yes = [q.id for q in model.questions if answers[q.id]]
    ticket.append("notes", Note(iso(ctx.now), ctx.by, f"Risk assessed {level} (score "
                                f"{score}; yes: {', '.join(yes) or 'none'})").entry())
    return Edit(subject=f"{ticket.id}: risk — {level} (score {score})")
