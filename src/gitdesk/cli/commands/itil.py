"""escalate, ci, catalog, kedb, problems, changes, risk."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from gitdesk.actions import itil as itil_actions
from gitdesk.cli.common import (
    date_option,
    desk_of,
    emit,
    format_option,
    interactive,
)
from gitdesk.cli.output import render
from gitdesk.domain import change as changes
from gitdesk.domain import incident, problem
from gitdesk.domain.clock import iso
from gitdesk.domain.config import parse_duration
from gitdesk.domain.text import one_line
from gitdesk.errors import UsageError
from gitdesk.reports import render_template
from gitdesk.store.write import Desk


def _records(desk: Desk) -> list[dict[str, object]]:
    from gitdesk.index.tickets import current_rows  # sqlite3 and the index: only where read
    _snap, rows = current_rows(desk)
    return [row.data for row in rows if row.data is not None]


@click.command("escalate", epilog="""\b
Examples:
  gitdesk escalate INC-7Q2K --to servers -m "Not a network fault: disk full on web01"
  gitdesk escalate INC-7Q2K --up -m "Outage beyond 1 h, customer-facing\"""")
@click.argument("ticket")
@click.option("--to", "to_group", metavar="GROUP", help="Functional: hand over to this group.")
@click.option("--assignee", metavar="WHO", help="Functional: the person in the new group.")
@click.option("--up", is_flag=True, help="Hierarchic: raise the level, notify the manager.")
@click.option("-m", "--message", required=True, help="Why it is escalated.")
@click.pass_context
def escalate(ctx: click.Context, ticket: str, to_group: str | None, assignee: str | None,
             up: bool, message: str) -> None:
    """Escalate a ticket (recorded in its escalation trail)."""
    written = itil_actions.escalate(desk_of(ctx), ticket, to_group=to_group, up=up,
                                    text=message, assignee=assignee)
    click.echo(one_line(written.change.subject), err=True)


@click.command("ci", epilog="Example:\n  gitdesk ci web01")
@click.argument("name")
@format_option()
@click.pass_context
def ci(ctx: click.Context, name: str, fmt: str) -> None:
    """Every ticket of every type that names a configuration item, newest first."""
    records = incident.ci_history(_records(desk_of(ctx)), name)
    columns = ("id", "type", "status", "priority", "created", "summary")
    emit(render(records, columns, fmt))


@click.command("catalog", epilog="Example:\n  gitdesk catalog --format yaml")
@format_option()
@click.pass_context
def catalog(ctx: click.Context, fmt: str) -> None:
    """The service request catalog."""
    config = desk_of(ctx).snapshot().config
    records = [{"request_type": e.id, "name": e.name, "group": e.group,
                "target": config.raw["request_catalog"][e.id].get("target"),
                "approvals": " then ".join(f"{lv.count}x {lv.group}" for lv in e.approvals)
                or "pre-approved", "required": ", ".join(e.required),
                "description": e.description} for e in config.catalog.values()]
    columns = ("request_type", "name", "group", "target", "approvals", "required")
    emit(render(records, columns if fmt == "table" else (*columns, "description"), fmt))


@click.group("kedb")
def kedb() -> None:
    """The known error database: problems with a documented root cause and workaround."""


@kedb.command("search", epilog="Example:\n  gitdesk kedb search 'pages not rendering' --ci web01")
@click.argument("text")
@click.option("--ci", help="Rank known errors on this CI higher.")
@click.option("--category", help="Rank known errors in this category higher.")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True)
@format_option()
@click.pass_context
def kedb_search(ctx: click.Context, text: str, ci: str | None, category: str | None,
                limit: int, fmt: str) -> None:
    """Rank known errors by summary, symptom, root cause, workaround, CI and category."""
    matches = problem.search(_records(desk_of(ctx)), text, ci=ci, category=category,
                             limit=limit)
    columns = ("id", "score", "status", "ci", "summary", "workaround")
    emit(render([m.record() for m in matches], columns, fmt))


@click.group("problems")
def problems() -> None:
    """Problem management views."""


@problems.command("suggest", epilog="Example:\n  gitdesk problems suggest --window 7d --min 3")
@click.option("--window", default="7d", show_default=True, help="How far back to look.")
@click.option("--min", "minimum", type=click.IntRange(min=1), default=3, show_default=True,
              help="Incidents needed to suggest a problem.")
@click.option("--now", "now_text", metavar="DATETIME", help="End of the window (default: now).")
@format_option()
@click.pass_context
def problems_suggest(ctx: click.Context, window: str, minimum: int, now_text: str | None,
                     fmt: str) -> None:
    """CIs and categories with recurring incidents that no problem covers yet."""
    try:
        span = parse_duration(window)
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from exc
    now = date_option(now_text, "--now") or datetime.now(UTC)
    desk = desk_of(ctx)
    found = problem.suggest(desk.snapshot().config, _records(desk), now=now, window=span,
                            minimum=minimum)
    emit(render([s.record() for s in found], ("kind", "value", "count", "incidents"), fmt))



@click.group("changes")
def changes_group() -> None:
    """Change schedule and collisions."""


@changes_group.command("calendar", epilog="""\b
Examples:
  gitdesk changes calendar --from 2026-12-01 --to 2027-01-01
  gitdesk changes calendar --format ics > changes.ics""")
@click.option("--from", "start", metavar="DATE", help="Only windows ending after this.")
@click.option("--to", "end", metavar="DATE", help="Only windows starting before this.")
@click.option("--all", "include_final", is_flag=True, help="Include closed changes.")
@format_option(("table", "json", "yaml", "csv", "ics", "html"))
@click.pass_context
def calendar(ctx: click.Context, start: str | None, end: str | None, include_final: bool,
             fmt: str) -> None:
    """Scheduled changes in time order (ICS imports into a calendar program)."""
    desk = desk_of(ctx)
    begin, finish = date_option(start, "--from"), date_option(end, "--to")
    items = changes.schedule(_records(desk), start=iso(begin) if begin else None,
                             end=iso(finish) if finish else None, include_final=include_final)
    if fmt == "ics":
        snap = desk.snapshot()
        stamp = iso(datetime.fromtimestamp(snap.commit.commit_time, UTC)) if snap.commit \
            else iso(datetime.now(UTC))
        emit(changes.ics(items, stamp=stamp))
    elif fmt == "html":
        hits = changes.collisions(items)
        colliding = {c.first.id for c in hits} | {c.second.id for c in hits}
        emit(render_template("calendar.html", items=items, collisions=hits,
                             colliding=colliding, start=start, end=end, title=None))
    else:
        columns = ("start", "end", "id", "change_type", "status", "risk", "cis", "summary")
        emit(render([i.record() for i in items], columns, fmt))


@changes_group.command("collisions", epilog="Example:\n  gitdesk changes collisions")
@format_option()
@click.pass_context
def collisions(ctx: click.Context, fmt: str) -> None:
    """Pairs of changes whose windows overlap and that share a CI, service or group."""
    hits = changes.collisions(changes.schedule(_records(desk_of(ctx))))
    columns = ("first", "second", "overlap_start", "overlap_end", "shared", "combined_risk")
    emit(render([h.record() for h in hits], columns, fmt))


@click.command("risk", epilog="""\b
Example:
  gitdesk risk CHG-3MZ8 --answer outage=yes --answer untested=no \\
      --answer no-backout=no --answer many-users=yes --answer vendor=no""")
@click.argument("ticket")
@click.option("--answer", "answers", multiple=True, metavar="ID=yes|no")
@click.pass_context
def risk(ctx: click.Context, ticket: str, answers: tuple[str, ...]) -> None:
    """Assess a change's risk with the configured questionnaire."""
    desk = desk_of(ctx)
    given: dict[str, bool] = {}
    for item in answers:
        key, sep, value = item.partition("=")
        if not sep or value.lower() not in ("yes", "no", "true", "false", "y", "n"):
            raise UsageError(f"--answer: expected ID=yes|no, got {item!r}")
        given[key] = value.lower() in ("yes", "true", "y")
    model = desk.snapshot().config.risk
    if model is not None and interactive():
        for question in model.questions:
            if question.id not in given:
                given[question.id] = click.confirm(question.text)
    written = itil_actions.assess_risk(desk, ticket, answers=given)
    click.echo(one_line(written.change.subject), err=True)


COMMANDS = [escalate, ci, catalog, kedb, problems, changes_group, risk]
