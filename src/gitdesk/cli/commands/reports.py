"""report and reindex."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click

from gitdesk import gitio
from gitdesk.cli.common import as_of_option, date_option, desk_of, emit
from gitdesk.domain import query
from gitdesk.domain.config import CONFIG_PATH, DeskConfig
from gitdesk.domain.where import compile_where, ticket_shaped
from gitdesk.errors import GitdeskError, UsageError
from gitdesk.index.tickets import Index, using
from gitdesk.reports import compute, render
from gitdesk.reports.facts import DEFINITIONS, REPORT_FIELDS, Facts, facts_as_of
from gitdesk.store.read import Snapshot

NAMES = (*compute.REPORTS, "weekly")
TEMPLATE_PATH = ".gitdesk/templates/report.html"
# what --where may name besides a ticket's own keys: the times the reports derive
DERIVED = ("opened", "modified", "resolved", "closed")


def _edges(text: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
    if not text:
        return default
    try:
        edges = tuple(int(x) for x in text.split(","))
    except ValueError as exc:
        raise UsageError(f"--buckets: {text!r} is not a list of days like 30,60,90") from exc
    if list(edges) != sorted(set(edges)) or edges[0] <= 0:
        raise UsageError("--buckets: give increasing positive day counts, e.g. 30,60,90")
    return edges


@click.command("report", epilog="""\b
Examples:
  gitdesk report summary
  gitdesk report aging --as-of 2026-10-01 --format markdown
  gitdesk report sla --type incident --format html -o sla.html
  gitdesk report weekly --format markdown >> "$GITHUB_STEP_SUMMARY"
  gitdesk report detail --field outage_minutes --sort -created --format csv""")
@click.argument("name", type=click.Choice(NAMES))
@click.option("--as-of", "as_of", metavar="DATE|REV", help="The desk as it was then "
                                                           "(default: now).")
@click.option("--from", "start", metavar="DATE", help="Only tickets opened on or after.")
@click.option("--to", "end", metavar="DATE", help="Only tickets opened before.")
@click.option("--type", "types", multiple=True, help="Only this ticket type (repeatable).")
@click.option("--where", "where_expr", metavar="EXPR", help="Filter tickets (see list --help).")
@click.option("--buckets", help="Day edges, e.g. 30,60,90 (aging) or 2,7,30,60.")
@click.option("--field", "fields", multiple=True, help="detail: a custom field column.")
@click.option("--sort", "sort_keys", multiple=True, help="detail: sort column ('-' descending).")
@click.option("--format", "fmt", type=click.Choice(render.FORMATS), default="text",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@click.pass_context
def report(ctx: click.Context, name: str, as_of: str | None, start: str | None,
           end: str | None, types: tuple[str, ...], where_expr: str | None,
           buckets: str | None, fields: tuple[str, ...], sort_keys: tuple[str, ...],
           fmt: str, output: Path | None) -> None:
    """Reports computed from the git history (see the README for definitions)."""
    if where_expr is not None:
        compile_where(where_expr)  # a syntax error is reported before the desk is read
    desk = desk_of(ctx)
    moment = as_of_option(desk, as_of)

    def compute_with(index: Index) -> tuple[Snapshot, compute.Report]:
        snap, _progress = index.refresh_events()
        config = snap.config
        for type_name in types:
            if type_name not in config.types:
                raise UsageError(f"--type: unknown ticket type {type_name!r}",
                                 hint=f"types: {', '.join(config.types)}")
        names = query.field_names(config, DERIVED)
        custom = [n[7:] for n in names if n.startswith("fields.")]
        query.check_names("--field", fields, custom, "custom field", "custom fields")
        keep = _keep(where_expr, names)

        wanted = None if where_expr is not None else \
            (*REPORT_FIELDS, *(f"fields.{f}" for f in fields))
        memo: dict[tuple[datetime, datetime | None], dict[str, Facts]] = {}

        stamp = f"{snap.oid} {snap.blob_oid(CONFIG_PATH)}"

        def source(when: datetime, since: datetime | None = None) -> dict[str, Facts]:
            if (when, since) not in memo:
                memo[when, since] = facts_as_of(index.db, desk.ref, config, when,
                                                fields=wanted, stamp=stamp, since=since)
            return memo[when, since]

        return snap, _compute(name, config, source, moment, types=types, keep=keep,
                              start=start, end=end, buckets=buckets, fields=fields,
                              sort_keys=sort_keys)

    snap, result = using(desk, compute_with)
    result.definitions = list(DEFINITIONS)
    text = render.render(result, fmt, overrides=_overrides(snap) if fmt == "html" else None)
    if output is None:
        emit(text if text.endswith("\n") else text + "\n")
    else:
        gitio.atomic_write(output, text.encode("utf-8"))
        click.echo(f"wrote {output}", err=True)


def _overrides(snap: Snapshot) -> dict[str, render.Template] | None:
    """The desk's own report page, if it has committed one."""
    data = snap.read(TEMPLATE_PATH)
    if data is None:
        return None
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GitdeskError(f"{TEMPLATE_PATH}: not UTF-8 text ({exc.reason} at byte "
                           f"{exc.start})") from None
    return {"report.html": render.Template(TEMPLATE_PATH, source)}


def _keep(where_expr: str | None, names: tuple[str, ...]) -> Callable[[Facts], bool] | None:
    """The --where filter over report facts: the same expression selects the same
    tickets as `list --where` (custom fields included)."""
    if where_expr is None:
        return None
    predicate = compile_where(where_expr, names)

    def keep(t: Facts) -> bool:
        derived = {name: _stamp(getattr(t, name)) for name in DERIVED}
        return predicate(ticket_shaped({**t.values, "id": t.id, "type": t.type, **derived}))

    return keep


def _stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _compute(name: str, config: DeskConfig, source: compute.Source, moment: datetime, *,
             types: tuple[str, ...], keep: Callable[[Facts], bool] | None, start: str | None,
             end: str | None, buckets: str | None, fields: tuple[str, ...],
             sort_keys: tuple[str, ...]) -> compute.Report:
    if name == "weekly":
        if start or end:
            raise UsageError("--from/--to do not apply to the weekly report",
                             hint="use --as-of to choose the week's end")
        return compute.weekly(config, source, moment, types, keep)
    tickets = compute.scope(config, source, moment, types=types,
                            created_from=date_option(start, "--from"),
                            created_to=date_option(end, "--to"), keep=keep)
    aging = name == "aging"
    scope = compute.Scope(
        config, moment, tickets,
        aging_edges=_edges(buckets, compute.AGING_EDGES) if aging else compute.AGING_EDGES,
        resolution_edges=compute.RESOLUTION_EDGES if aging
        else _edges(buckets, compute.RESOLUTION_EDGES),
        detail_fields=fields, sort=sort_keys)
    return compute.REPORTS[name](scope)


@click.command("reindex", epilog="Example:\n  gitdesk reindex")
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the SQLite index (.git/gitdesk/index.sqlite) from the git history."""
    desk = desk_of(ctx)
    _snap, progress = using(desk, lambda index: index.rebuild())
    click.echo(f"indexed {progress.commits} commit(s), {progress.events} event(s)", err=True)


COMMANDS = [report, reindex]
