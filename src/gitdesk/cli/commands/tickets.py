"""open, show, list, set, note, assign."""

from __future__ import annotations

import sys

import click

from gitdesk.actions import tickets as actions
from gitdesk.cli.commands.approvals import request_approvals
from gitdesk.cli.common import at_option, desk_of, emit, format_option, parse_pairs, require
from gitdesk.cli.output import json_text, render
from gitdesk.cli.views import LIST_COLUMNS, flat_record, show_text
from gitdesk.domain import problem, query
from gitdesk.domain.approvals import required_levels
from gitdesk.domain.incident import escalated
from gitdesk.domain.model import Ticket
from gitdesk.domain.text import one_line
from gitdesk.domain.where import compile_where
from gitdesk.errors import UsageError
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Desk
from gitdesk.verify import trust
from gitdesk.yaml.roundtrip import dump


@click.command("open", epilog="""\b
Example:
  id=$(gitdesk open incident -s "Web server not rendering pages" \\
         --impact high --urgency high --ci web01 --category Network \\
         --submitter "Hans <hans@example.org>")""")
@click.argument("type_name", metavar="TYPE")
@click.option("-s", "--summary", help="One line saying what is wrong or wanted.")
@click.option("-d", "--description", help="Longer text.")
@click.option("-e", "--edit", is_flag=True, help="Write the description in $EDITOR.")
@click.option("--impact")
@click.option("--urgency")
@click.option("--priority", help="Set explicitly instead of deriving from impact x urgency.")
@click.option("--severity")
@click.option("--category")
@click.option("--subcategory")
@click.option("--ci", help="Configuration item (machine, service) affected.")
@click.option("--assignee")
@click.option("--group")
@click.option("--submitter", help='Who reported it: "Name <email>".')
@click.option("--major", is_flag=True, default=None, help="A major incident.")
@click.option("--request-type", help="Service requests: an entry of `gitdesk catalog`.")
@click.option("--change-type", help="Changes: standard, normal or emergency.")
@click.option("--standard", metavar="NAME", help="Changes: open from a standard change template.")
@click.option("--risk", help="Changes: low, medium or high (or use `gitdesk risk`).")
@click.option("--window", metavar="START/END", help="Changes: e.g. 2026-12-01T22:00Z/2h.")
@click.option("--cis", help="Changes: affected CIs, comma-separated.")
@click.option("--services", help="Changes: affected services, comma-separated.")
@click.option("--from", "sources", multiple=True, metavar="INC-ID",
              help="Problems: an incident it comes from (repeatable).")
@click.option("--field", "custom", multiple=True, metavar="KEY=VALUE", help="A custom field.")
@click.option("--link", "links", multiple=True, metavar="REL:ID", help="e.g. caused-by:PRB-3MZ8")
@click.pass_context
def open_cmd(ctx: click.Context, /, type_name: str, summary: str | None, description: str | None,
             edit: bool, custom: tuple[str, ...], links: tuple[str, ...], standard: str | None,
             sources: tuple[str, ...], **values: str | bool | list[str] | None) -> None:
    """Open a ticket; prints its new ID alone on stdout."""
    desk = desk_of(ctx)
    if standard is not None:
        template = desk.snapshot().config.standard_changes.get(standard)
        summary = summary or (str(template.values.get("summary")) if template else None)
    summary = require(summary, "--summary (-s)", "Summary")
    if edit:
        description = click.edit(description or "") or description
    for key in ("cis", "services"):
        if isinstance(values.get(key), str):
            values[key] = [v.strip() for v in str(values[key]).split(",") if v.strip()]
    pairs = []
    for item in links:
        rel, sep, other = item.partition(":")
        if not sep:
            raise UsageError(f"--link: expected REL:ID, got {item!r}")
        pairs.append((rel, other))
    request = actions.OpenRequest(
        type_name=type_name, summary=summary, description=description,
        values={k: v for k, v in values.items() if v is not None},
        fields=parse_pairs(custom, "--field"), links=pairs, standard=standard,
        sources=list(sources))
    written = actions.open_ticket(desk, request)
    click.echo(written.change.tickets[0])
    request_approvals(desk, written.change.tickets[0])
    if type_name == "incident":
        hint_known_errors(desk, request)


def hint_known_errors(desk: Desk, request: actions.OpenRequest) -> None:
    """Known errors that match a new incident, on stderr (only with a built index)."""
    if not (desk.repo.state_dir / "index.sqlite").exists():
        return
    from gitdesk.index.tickets import current_rows  # sqlite3 and the index: only where read
    _snap, rows = current_rows(desk, where="type=? AND json_extract(data, '$.known_error') = 1",
                               params=("problem",))
    text = f"{request.summary} {request.description or ''}"
    ci_value, category = request.values.get("ci"), request.values.get("category")
    config = desk.snapshot().config
    candidates = [r.data for r in rows
                  if r.data is not None and query.category_of(config, r.data) != "closed"]
    found = problem.search(candidates, text,
                           ci=str(ci_value) if ci_value else None,
                           category=str(category) if category else None, limit=3)
    for match in found:
        workaround = one_line(match.data.get("workaround"), 80)
        click.echo(f"hint: known error {match.data['id']}: {one_line(match.data['summary'])} "
                   f"— workaround: {workaround}", err=True)


@click.command("show", epilog="Example:\n  gitdesk show INC-7Q2K --format json")
@click.argument("ticket")
@click.option("--at", "when", metavar="DATE|REV",
              help="Show the ticket as it was at a revision, or at a date (the last commit "
                   "at or before it).")
@format_option(("text", "table", "json", "yaml", "csv"), default="text")
@click.pass_context
def show(ctx: click.Context, ticket: str, when: str | None, fmt: str) -> None:
    """Show one ticket."""
    desk = desk_of(ctx)
    snap = desk.snapshot(at_option(desk, when))
    data = snap.ticket(ticket).plain()
    if fmt == "text":
        captions = {f.id: f.caption for f in snap.config.types[data["type"]].fields}
        emit(show_text(data, captions=captions))
        emit(approval_text(desk, snap, snap.ticket(data["id"])))
    elif fmt == "yaml":
        emit(dump(data).decode("utf-8"))
    elif fmt == "json":
        emit(json_text(data))
    else:
        columns = tuple(k for k in data if k not in ("notes", "links", "events", "approvals"))
        emit(render([data], columns, fmt))


@click.command("list", epilog="""\b
Examples:
  gitdesk list --open
  gitdesk list incident --priority critical --sort -created --limit 20
  gitdesk list --assignee gary --format csv > mine.csv""")
@click.argument("types", nargs=-1, metavar="[TYPE]...")
@click.option("--status", "statuses", multiple=True, help="Only this status (repeatable).")
@click.option("--open", "category", flag_value="open", help="Not yet resolved or closed.")
@click.option("--resolved", "category", flag_value="resolved", help="Resolved, not closed.")
@click.option("--closed", "category", flag_value="closed", help="Closed or cancelled.")
@click.option("--assignee")
@click.option("--group")
@click.option("--priority")
@click.option("--ci")
@click.option("--category", "category_name")
@click.option("--sort", "sort_keys", multiple=True, metavar="KEY",
              help="Sort key, '-' prefix for descending (default: priority, created).")
@click.option("--escalated", "escalated_only", is_flag=True,
              help="Only tickets that were escalated.")
@click.option("--conflicts", "conflicted_only", is_flag=True,
              help="Only tickets with merge conflicts to settle (gitdesk conflicts).")
@click.option("--where", "where_expr", metavar="EXPR",
              help="Query, e.g. \"priority in (critical, high) and ci ~ web\" "
                   "(operators = != < > <= >= ~ in; and, or, not, parentheses).")
@click.option("--limit", type=click.IntRange(min=1))
@click.option("--columns", help="Comma-separated columns (ticket keys, fields.X for custom "
                                "fields).")
@click.option("--at", "when", metavar="DATE|REV",
              help="List the desk as it was at a revision, or at a date (the last commit at "
                   "or before it).")
@format_option()
@click.pass_context
def list_cmd(ctx: click.Context, types: tuple[str, ...], statuses: tuple[str, ...],
             category: str | None, assignee: str | None, group: str | None,
             priority: str | None, ci: str | None, category_name: str | None,
             sort_keys: tuple[str, ...], escalated_only: bool, conflicted_only: bool,
             where_expr: str | None,
             limit: int | None, columns: str | None, when: str | None, fmt: str) -> None:
    """List tickets, filtered and sorted."""
    if where_expr is not None:
        compile_where(where_expr)  # a syntax error is reported before the desk is read
    desk = desk_of(ctx)
    rev = at_option(desk, when)
    config = desk.snapshot(rev).config
    for type_name in types:
        if type_name not in config.types:
            raise UsageError(f"unknown ticket type {type_name!r}",
                             hint=f"types: {', '.join(config.types)}")
    equals = {k: v for k, v in (("assignee", assignee), ("group", group),
                                ("priority", priority), ("ci", ci),
                                ("category", category_name)) if v}
    filters = query.Filters(types=types, statuses=statuses, state_category=category,
                            equals=equals)
    query.check_filters(config, filters)
    names = query.field_names(config)
    predicate = compile_where(where_expr, names) if where_expr is not None else None
    shown = tuple(c.strip() for c in columns.split(",")) if columns else LIST_COLUMNS
    query.check_names("--columns", shown, names, "column", "columns")
    where, params = query.sql_prefilter(config, filters, desk.ref) if rev is None else ("", ())
    from gitdesk.index.tickets import current_rows  # sqlite3 and the index: only where read
    _snap, rows = current_rows(desk, rev=rev, where=where, params=params, scoped=rev is None)
    broken = [row for row in rows if row.data is None]
    if broken:
        click.echo(f"gitdesk: warning: skipped {len(broken)} unreadable ticket file(s), "
                   f"e.g. {broken[0].path}; run `gitdesk doctor`", err=True)
    records = [row.data for row in rows
               if row.data is not None and query.matches(config, row.data, filters)
               and (not escalated_only or escalated(row.data))
               and (not conflicted_only or bool(row.data.get("conflicts")))
               and (predicate is None or predicate(row.data))]
    records = query.sort_records(config, records, sort_keys)[:limit]
    emit(render([flat_record(r, shown) for r in records], shown, fmt))


@click.command("set", epilog="Example:\n  gitdesk set INC-7Q2K urgency=low ci=web02")
@click.argument("ticket")
@click.argument("pairs", nargs=-1, required=False, metavar="KEY=VALUE...")
@click.option("--field", "custom", multiple=True, metavar="KEY=VALUE", help="A custom field.")
@click.pass_context
def set_cmd(ctx: click.Context, ticket: str, pairs: tuple[str, ...],
            custom: tuple[str, ...]) -> None:
    """Set fields of a ticket (an empty value removes the field)."""
    values = parse_pairs(pairs, "KEY=VALUE")
    fields = parse_pairs(custom, "--field")
    if not values and not fields:
        raise UsageError("nothing to set", hint="give KEY=VALUE pairs or --field KEY=VALUE")
    actions.set_values(desk_of(ctx), ticket, values=values, fields=fields)


@click.command("note", epilog='Example:\n  gitdesk note INC-7Q2K -m "Restarted httpd"')
@click.argument("ticket")
@click.option("-m", "--message", help="The note's text ('-' reads stdin).")
@click.option("--internal", is_flag=True, help="A work note not meant for the caller.")
@click.pass_context
def note(ctx: click.Context, ticket: str, message: str | None, internal: bool) -> None:
    """Add a work note."""
    if message == "-":
        message = sys.stdin.read()
    message = require(message, "--message (-m)", "Note")
    actions.add_note(desk_of(ctx), ticket, text=message, internal=internal)


@click.command("assign", epilog="Example:\n  gitdesk assign INC-7Q2K gary --group network")
@click.argument("ticket")
@click.argument("who")
@click.option("--group", help="The assignment group.")
@click.pass_context
def assign(ctx: click.Context, ticket: str, who: str, group: str | None) -> None:
    """Assign a ticket to a person (and group); a new ticket becomes assigned."""
    actions.assign(desk_of(ctx), ticket, who=who, group=group)


COMMANDS = [open_cmd, show, list_cmd, set_cmd, note, assign]


def approval_text(desk: Desk, snap: Snapshot, ticket: Ticket) -> str:
    """The approvals of a ticket with their validity, and what is still missing."""
    data = ticket.plain()
    levels = required_levels(snap.config, snap.policy, data)
    if not levels and not data.get("approvals"):
        return ""
    lines = ["", "Approvals:"]
    for state in trust.approval_states(desk.repo, desk.ref, ticket.path, data):
        entry = state.entry
        comment = f" — {one_line(entry['comment'])}" if entry.get("comment") else ""
        lines.append(f"  {one_line(entry['at'])}  {one_line(entry['by'])} "
                     f"{one_line(entry['decision'])} for {one_line(entry.get('group', '?'))}: "
                     f"{one_line(state.validity)}{comment}")
    if not data.get("approvals"):
        lines.append("  none yet")
    missing = trust.missing(desk.repo, desk.ref, snap.config, snap.policy, data)
    lines += [f"  missing: {one_line(str(m))}" for m in missing] or \
        ["  all approval levels are satisfied"]
    return "\n".join(lines) + "\n"
