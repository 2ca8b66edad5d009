"""import servicenow: a ServiceNow incident event log as desk history."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

import click

from gitdesk.cli.common import desk_of, emit
from gitdesk.errors import UsageError
from gitdesk.importers.servicenow.mapping import default_mapping_text, load_mapping
from gitdesk.importers.servicenow.run import import_log


class ProgressBar:
    """A one-line bar on a terminal; elsewhere a line every `step` percent."""

    WIDTH = 30

    def __init__(self, stream: TextIO | None = None, step: int = 10) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.step = step
        self.started = time.monotonic()
        self.shown = -1
        self.drawn = False
        self.last = 0.0
        self.state = (0, 0)

    def __call__(self, done: int, total: int) -> None:
        self.state = (done, total)
        percent = 100 * done // total if total else 100
        if self.tty:
            now = time.monotonic()
            if done < total and now - self.last < 0.1:
                return
            self.last = now
            self._draw(done, total, percent)
            if done >= total:
                self.stream.write("\n")
                self.drawn = False
            self.stream.flush()
        elif percent // self.step > self.shown // self.step or (done >= total > 0
                                                                  and self.shown < 100):
            self.shown = percent
            self.stream.write(f"gitdesk: import: {percent}% ({done}/{total} events, "
                              f"{self._rate(done)})\n")
            self.stream.flush()

    def _rate(self, done: int) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{done / elapsed:,.0f} events/s"

    def _draw(self, done: int, total: int, percent: int) -> None:
        filled = self.WIDTH * done // total if total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        elapsed = time.monotonic() - self.started
        eta = (elapsed / done * (total - done)) if done else 0.0
        self.stream.write(f"\r\x1b[K[{bar}] {percent:3d}% {done}/{total} events "
                          f"{self._rate(done)} ETA {eta:.0f}s")
        self.drawn = True

    def message(self, text: str) -> None:
        if self.tty and self.drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(f"gitdesk: {text}\n")
        if self.tty and self.drawn:
            self._draw(*self.state, 100 * self.state[0] // max(self.state[1], 1))
        self.stream.flush()


@click.group("import", epilog="Example:\n  gitdesk import servicenow incident_event_log.csv")
def import_group() -> None:
    """Import tickets and their history from another tool."""


@import_group.command("servicenow", epilog="""\b
Examples:
  gitdesk import servicenow incident_event_log.csv
  gitdesk import servicenow incident_event_log.zip --limit 100 --dry-run
  gitdesk import servicenow --show-mapping > mapping.yaml
  gitdesk import servicenow log.csv --mapping mapping.yaml

One back-dated commit per event row (author sys_updated_by, date
sys_updated_at as UTC); rows already imported are not imported again.
See the README's "Importing from ServiceNow".""")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(min=0), metavar="N",
              help="Import only the first N incidents of the file.")
@click.option("--mapping", "mapping_file", metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A mapping file laid over the default (see --show-mapping).")
@click.option("--dry-run", is_flag=True,
              help="Read, map and check every row against the desk's rules; write nothing.")
@click.option("--show-mapping", is_flag=True, help="Print the default mapping and exit.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True, help="json: also print the summary as JSON on stdout.")
@click.pass_context
def servicenow_command(ctx: click.Context, file: Path | None, limit: int | None,
                       mapping_file: Path | None, dry_run: bool, show_mapping: bool,
                       fmt: str) -> None:
    """Import a ServiceNow incident event log (CSV, or a .zip/.gz holding it)."""
    if show_mapping:
        emit(default_mapping_text().decode("utf-8"))
        return
    if file is None:
        raise UsageError("missing FILE (the ServiceNow CSV)",
                         hint="gitdesk import servicenow incident_event_log.csv")
    mapping = load_mapping(mapping_file)
    desk = desk_of(ctx)
    bar = ProgressBar()
    summary = import_log(desk, file, mapping=mapping, limit=limit, dry_run=dry_run,
                         progress=bar, report=bar.message)
    verb = "would import" if dry_run else "import"
    lines = summary.lines()
    click.echo(f"gitdesk: {verb}: {lines[0]}", err=True)
    for line in lines[1:]:
        click.echo(f"gitdesk: {line}", err=True)
    if summary.before != summary.after and summary.after:
        moved = f"{(summary.before or '(none)')[:10]} -> {summary.after[:10]}"
        click.echo(f"gitdesk: {desk.branch}: {moved} in {summary.seconds:.1f} s", err=True)
    elif not dry_run:
        click.echo(f"gitdesk: {desk.branch} unchanged ({summary.seconds:.1f} s)", err=True)
    if summary.warning:
        click.echo(f"gitdesk: warning: {summary.warning}", err=True)
    if fmt == "json":
        click.echo(json.dumps(summary.record(), indent=2))


COMMANDS = [import_group]
