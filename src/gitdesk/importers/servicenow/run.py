"""Import a ServiceNow incident event log into desk history.

One back-dated commit per event row (author: sys_updated_by, date:
sys_updated_at), in time order across incidents, so that the desk at any
commit is the desk as it was at that moment. How values are mapped lives in a
YAML file (templates/servicenow-mapping.yaml, documented there and in the
README's "Importing from ServiceNow").

The life cycle is derived row by row from sys_updated_at and incident_state:

- the first usable row of an incident opens the ticket in the workflow's
  initial state (`created` = that row's sys_updated_at); when that row's
  state is another one, the ticket moves there in the next commit(s), at the
  same time and with the same row trailer;
- a state change the workflow does not allow in one step is made along the
  shortest legal path (one commit per step): New -> Closed becomes
  new -> resolved -> closed, Resolved -> Awaiting User Info becomes
  resolved -> in-progress -> pending; Closed/Resolved -> Active is the reopen
  (-> in-progress). A state that cannot be reached skips the row;
- entering resolved writes resolution_code (closed_code through the mapping)
  and a solution; entering pending writes pending_reason; reopening removes
  resolution_code and solution, leaving pending removes pending_reason, as
  `gitdesk transition` does;
- a sys_updated_at earlier than the previous row of the same incident (the
  log has one) is dated at the previous row's time, so an incident's history
  never runs backwards; sys_mod_count is kept as a field but never used for
  ordering (it decreases 4 times in the log): rows keep their CSV order;
- resolved_at and closed_at are ignored (filled on every row of the log).

Rows that cannot be used (an unmapped incident_state such as the junk -100,
an unreadable time, a change the rules refuse) are skipped, each reported
with its reason and counted in the summary. Every commit carries the trailer
`Gitdesk-Import: servicenow <number>#<row>` (row = position of the event in
its incident, from 1); rows whose trailer is already in the branch's history
are not imported again, so re-running an import adds nothing.

Every change is checked in process with the verifier's per-file rules
(verify.check_change) before it is written by the batch writer; the branch
moves once, at the end.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import re
import string
import time
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gitdesk import gitio
from gitdesk.domain import ids
from gitdesk.domain.clock import Identity
from gitdesk.domain.config import CONFIG_PATH, DeskConfig, Policy, Workflow
from gitdesk.domain.model import Flow, Ticket, plain, ticket_path
from gitdesk.errors import GitdeskError, InvalidFile, RuleViolation, UsageError
from gitdesk.store.batch import BatchWriter, land
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, CommitRefused, Desk
from gitdesk.verify import signing
from gitdesk.verify.configs import parse_config
from gitdesk.verify.files import Rules, check_change
from gitdesk.yaml import roundtrip as yamlio
from gitdesk.yaml.emitter import (
    TicketEmitter,
    from_roundtrip,
    to_roundtrip,
    with_key,
    without_key,
)

MAPPING_TEMPLATE = "servicenow-mapping.yaml"
TRAILER = "Gitdesk-Import"
SOURCE = "servicenow"
MISSING = "?"
REQUIRED_COLUMNS = ("number", "incident_state", "sys_updated_by", "sys_updated_at")
FORMATS = ("text", "number", "bool", "datetime")
TRAILER_RE = re.compile(r"^servicenow (.+)#([0-9]+)$")
EXAMPLES_PER_REASON = 10


# -- the mapping ------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    id: str
    column: str
    format: str
    caption: str


@dataclass(frozen=True)
class Mapping:
    type: str
    time_formats: tuple[str, ...]
    timezone: str
    summary: str
    states: dict[str, str]
    pending_reasons: dict[str, str]
    default_pending_reason: str
    impact: dict[str, str]
    urgency: dict[str, str]
    priority: dict[str, str]
    resolution_codes: dict[str, str]
    default_resolution_code: str
    solution: str
    extend_config: bool
    category_map: dict[str, str | None]
    subcategory_map: dict[str, str | None]
    groups: dict[str, str]
    assignees: dict[str, str]
    cis: dict[str, str]
    callers: dict[str, dict[str, str]]
    author_domain: str
    authors: dict[str, dict[str, str]]
    declare_fields: bool
    fields: tuple[FieldSpec, ...]
    path: str = "(default mapping)"


def default_mapping_text() -> bytes:
    return resources.files("gitdesk").joinpath("templates", MAPPING_TEMPLATE).read_bytes()


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _merge(out.get(key), value)
        return out
    return over


def load_mapping(path: Path | None = None) -> Mapping:
    """The default mapping, with the user's mapping file laid over it."""
    raw = plain(yamlio.load(default_mapping_text(), MAPPING_TEMPLATE))
    where = "(default mapping)"
    if path is not None:
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"--mapping: cannot read {path}: {exc.strerror}") from exc
        user = plain(yamlio.load(text, str(path)))
        if user is not None and not isinstance(user, dict):
            raise InvalidFile(str(path), ["a mapping file is a YAML mapping"])
        raw = _merge(raw, user or {})
        where = str(path)
    try:
        return _build_mapping(raw, where)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidFile(where, [f"not a valid mapping: {type(exc).__name__}: {exc}"],
                          hint="compare with `gitdesk import servicenow --show-mapping`") \
            from exc


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a mapping")
    return {str(k): v for k, v in value.items() if v is not None}


def _strings(raw: dict[str, Any], key: str) -> dict[str, str]:
    return {k: str(v) for k, v in _table(raw, key).items()}


def _build_mapping(raw: dict[str, Any], where: str) -> Mapping:
    fields = []
    for fid, spec in _table(raw, "fields").items():
        if isinstance(spec, str):
            spec = {"column": spec}
        fmt = str(spec.get("format", "text"))
        if fmt not in FORMATS:
            raise ValueError(f"fields.{fid}.format: {fmt!r} is not one of {', '.join(FORMATS)}")
        fields.append(FieldSpec(fid, str(spec["column"]), fmt, str(spec.get("caption", fid))))
    categories = _table(raw, "categories")
    subcategories = _table(raw, "subcategories")
    authors = _table(raw, "authors")
    formats = raw.get("time_formats") or ["%d/%m/%Y %H:%M"]
    return Mapping(
        type=str(raw.get("type", "incident")),
        time_formats=tuple(str(f) for f in formats),
        timezone=str(raw.get("timezone") or "UTC"),
        summary=str(raw.get("summary") or "ServiceNow incident {number}"),
        states=_strings(raw, "states"),
        pending_reasons=_strings(raw, "pending_reasons"),
        default_pending_reason=str(raw.get("default_pending_reason", "")),
        impact=_strings(raw, "impact"),
        urgency=_strings(raw, "urgency"),
        priority=_strings(raw, "priority"),
        resolution_codes=_strings(raw, "resolution_codes"),
        default_resolution_code=str(raw.get("default_resolution_code", "")),
        solution=str(raw.get("solution") or "Resolved in ServiceNow"),
        extend_config=bool(categories.get("extend_config", True)),
        category_map={str(k): (str(v) if v is not None else None)
                      for k, v in (categories.get("map") or {}).items()},
        subcategory_map={str(k): (str(v) if v is not None else None)
                         for k, v in (subcategories.get("map") or {}).items()},
        groups=_strings(raw, "groups"),
        assignees=_strings(raw, "assignees"),
        cis=_strings(raw, "cis"),
        callers={k: {str(a): str(b) for a, b in dict(v).items()}
                 for k, v in _table(raw, "callers").items()},
        author_domain=str(authors.get("domain") or "servicenow.invalid"),
        authors={str(k): {str(a): str(b) for a, b in dict(v).items()}
                 for k, v in (authors.get("map") or {}).items() if v is not None},
        declare_fields=bool(raw.get("declare_fields", True)),
        fields=tuple(fields),
        path=where,
    )


def check_mapping(mapping: Mapping, config: DeskConfig, workflow: Workflow,
                  columns: list[str]) -> None:
    """The mapping's values must be the desk's; its templates must name columns."""
    problems = []

    def within(table: dict[str, str], allowed: tuple[str, ...] | list[str], name: str) -> None:
        for key, value in table.items():
            if allowed and value not in allowed:
                problems.append(f"{name}.{key}: {value!r} is not one of: {', '.join(allowed)}")

    within(mapping.states, list(workflow.states), "states")
    within(mapping.pending_reasons, config.pending_reasons, "pending_reasons")
    within(mapping.impact, config.impacts, "impact")
    within(mapping.urgency, config.urgencies, "urgency")
    within(mapping.priority, list(config.priorities), "priority")
    within(mapping.resolution_codes, config.resolution_codes, "resolution_codes")
    for key, value, allowed in (
            ("default_pending_reason", mapping.default_pending_reason, config.pending_reasons),
            ("default_resolution_code", mapping.default_resolution_code,
             config.resolution_codes)):
        if allowed and value not in allowed:
            problems.append(f"{key}: {value!r} is not one of: {', '.join(allowed)}")
    for name, table in (("groups", mapping.groups), ("assignees", mapping.assignees)):
        for key, value in table.items():
            if not NAME_RE.match(value):
                problems.append(f"{name}.{key}: {value!r} is not a name "
                                "(letters, digits and _.@+-)")
    for name, template in (("summary", mapping.summary), ("solution", mapping.solution)):
        try:
            used = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        for column in used:
            if column not in columns:
                problems.append(f"{name}: {{{column}}} is not a column of the CSV")
    for spec in mapping.fields:
        if spec.column not in columns:
            problems.append(f"fields.{spec.id}: column {spec.column!r} is not in the CSV")
        if not NAME_RE.match(spec.id):
            problems.append(f"fields.{spec.id}: not a field name (letters, digits and _.@+-)")
    if problems:
        raise InvalidFile(mapping.path, problems,
                          hint="edit the mapping (see `gitdesk import servicenow --show-mapping`)")


# -- reading the log --------------------------------------------------------------------

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")
_SLUG_OUT = re.compile(r"[^A-Za-z0-9_.@+-]+")


def slug(text: str) -> str | None:
    value = _SLUG_OUT.sub("-", text.strip()).lower()
    value = re.sub(r"^[^a-z0-9]+", "", value).rstrip("-")
    return value or None


@dataclass
class Row:
    line: int  # line of the CSV file where the row starts
    seq: int  # position of the row in its incident, from 1
    values: tuple[str | None, ...]
    time: int | None = None  # sys_updated_at (epoch seconds), None: unreadable
    when: int = 0  # the commit time: time, never before the incident's previous row
    done: bool = False


@dataclass
class Log:
    path: str
    columns: list[str]
    incidents: dict[str, list[Row]]
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    rows: int = 0


def _open_text(path: Path) -> Iterator[io.TextIOBase]:
    name = path.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
            if len(members) != 1:
                raise UsageError(f"{path}: expected one .csv file in the zip archive, "
                                 f"found {len(members)}")
            with archive.open(members[0]) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        return
    opener: Any = gzip.open if name.endswith(".gz") else bz2.open if name.endswith(".bz2") \
        else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        yield handle


def read_log(path: Path) -> Log:
    """Rows grouped by incident (in order of first appearance), values interned."""
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    intern: dict[str, str | None] = {MISSING: None, "": None}
    incidents: dict[str, list[Row]] = {}
    malformed: list[tuple[int, str]] = []
    count = 0
    try:
        for handle in _open_text(path):
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise UsageError(f"{path}: the file is empty")
            columns = [c.strip() for c in header]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise UsageError(f"{path}: not a ServiceNow incident event log: no column "
                                 f"{', '.join(missing)}",
                                 hint=f"expected at least: {', '.join(REQUIRED_COLUMNS)}")
            width = len(columns)
            number_at = columns.index("number")
            line = reader.line_num + 1
            for record in reader:
                count += 1
                if len(record) != width:
                    malformed.append((line, f"{len(record)} columns, the header has {width}"))
                    line = reader.line_num + 1
                    continue
                values = []
                for cell in record:
                    value = intern.get(cell, "")
                    if value == "":
                        text = " ".join(cell.split())
                        value = None if text in (MISSING, "") else text
                        intern[cell] = value
                    values.append(value)
                number = values[number_at]
                if number is None:
                    malformed.append((line, "no incident number"))
                else:
                    rows = incidents.setdefault(number, [])
                    rows.append(Row(line, len(rows) + 1, tuple(values)))
                line = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise UsageError(f"{path}: cannot read the CSV: {exc}") from exc
    return Log(str(path), columns, incidents, malformed, count)


class Clock:
    """ServiceNow times (d/m/Y H:M by default) to epoch seconds, cached."""

    def __init__(self, formats: tuple[str, ...], zone: str) -> None:
        self.formats = formats
        try:
            self.zone = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise UsageError(f"mapping: unknown timezone {zone!r}") from exc
        self._cache: dict[str, int | None] = {}

    def parse(self, text: str | None) -> int | None:
        if text is None:
            return None
        try:
            return self._cache[text]
        except KeyError:
            pass
        value = None
        for fmt in self.formats:
            try:
                moment = datetime.strptime(text, fmt)
            except ValueError:
                continue
            value = int(moment.replace(tzinfo=self.zone).timestamp())
            break
        self._cache[text] = value
        return value


_ISO: dict[int, str] = {}


def iso(stamp: int) -> str:
    text = _ISO.get(stamp)
    if text is None:
        text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
        _ISO[stamp] = text
    return text


def deterministic_uid(stamp_ms: int, number: str, salt: int = 0) -> str:
    """A ULID whose random part comes from the ServiceNow number: same number, same ID."""
    digest = hashlib.sha256(f"{SOURCE}:{number}:{salt}".encode()).digest()
    value = (max(stamp_ms, 0) << 80) | int.from_bytes(digest[:10], "big")
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(ids.CROCKFORD[rem])
    return "".join(reversed(chars))


# -- the result -------------------------------------------------------------------------


@dataclass
class Summary:
    rows: int = 0  # rows of the incidents considered (after --limit)
    incidents: int = 0
    imported: int = 0
    already: int = 0
    commits: int = 0
    opened: int = 0
    continued: int = 0
    config_changed: bool = False
    skipped: Counter[str] = field(default_factory=Counter)
    adjusted: Counter[str] = field(default_factory=Counter)
    before: str | None = None
    after: str | None = None
    seconds: float = 0.0
    warning: str | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def lines(self) -> list[str]:
        out = [f"{self.imported} rows imported, {self.skipped_total} skipped, "
               f"{self.already} already imported (of {self.rows} rows, "
               f"{self.incidents} incidents)"]
        out.append(f"{self.commits} commits: {self.opened} tickets opened, "
                   f"{self.continued} continued"
                   + (", .gitdesk/config.yaml extended" if self.config_changed else ""))
        if self.skipped:
            out.append("skipped rows by reason:")
            out += [f"  {n:>7}  {reason}" for reason, n in self.skipped.most_common()]
        if self.adjusted:
            out.append("imported with an adjustment:")
            out += [f"  {n:>7}  {reason}" for reason, n in self.adjusted.most_common()]
        return out

    def record(self) -> dict[str, Any]:
        return {"rows": self.rows, "incidents": self.incidents, "imported": self.imported,
                "skipped": dict(self.skipped), "already": self.already,
                "commits": self.commits, "opened": self.opened, "continued": self.continued,
                "adjusted": dict(self.adjusted), "config_changed": self.config_changed,
                "before": self.before, "after": self.after,
                "seconds": round(self.seconds, 3)}


Progress = Callable[[int, int], None]
Report = Callable[[str], None]


# -- the import -------------------------------------------------------------------------


@dataclass
class Track:
    """One incident: its rows and the ticket as of the last commit made for it."""

    number: str
    order: int
    rows: list[Row]
    tid: str | None = None
    uid: str | None = None
    path: str | None = None
    data: dict[str, Any] | None = None
    roundtrip: Ticket | None = None  # set when the emitter cannot reproduce the file
    created: int = 0
    continued: bool = False


@dataclass
class Step:
    action: str
    subject: str
    new: dict[str, Any]
    trailers: list[tuple[str, str]] = field(default_factory=list)


class Skip(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class Importer:
    def __init__(self, desk: Desk, log: Log, mapping: Mapping, *, limit: int | None = None,
                 dry_run: bool = False, progress: Progress | None = None,
                 report: Report | None = None) -> None:
        self.desk = desk
        self.log = log
        self.mapping = mapping
        self.limit = limit
        self.dry_run = dry_run
        self.progress = progress
        self.report = report or (lambda text: None)
        self.summary = Summary()
        self.examples: Counter[str] = Counter()
        self.emitter = TicketEmitter()
        self.col = {name: i for i, name in enumerate(log.columns)}
        self.clock = Clock(mapping.time_formats, mapping.timezone)
        self._routes: dict[tuple[str, str], list[str] | None] = {}

    # -- helpers --------------------------------------------------------------------

    def value(self, row: Row, column: str) -> str | None:
        at = self.col.get(column)
        return row.values[at] if at is not None else None

    def skip(self, track: Track | None, row: Row | None, reason: str, detail: str = "") -> None:
        self.summary.skipped[reason] += 1
        self.examples[reason] += 1
        if self.examples[reason] <= EXAMPLES_PER_REASON:
            where = f"{track.number} row {row.seq} (line {row.line})" if track and row \
                else f"line {row.line}" if row else ""
            self.report(f"skipped {where}: {reason}" + (f" — {detail}" if detail else ""))
        elif self.examples[reason] == EXAMPLES_PER_REASON + 1:
            self.report(f"(more rows skipped for: {reason}; see the summary)")

    def adjust(self, reason: str) -> None:
        self.summary.adjusted[reason] += 1

    # -- the run --------------------------------------------------------------------

    def run(self) -> Summary:
        started = time.monotonic()
        desk, mapping = self.desk, self.mapping
        snap = desk.snapshot()
        self.summary.before = snap.oid
        config = snap.config
        if mapping.type not in config.types:
            raise UsageError(f"mapping: the desk has no ticket type {mapping.type!r}",
                             hint=f"types: {', '.join(config.types)}")
        for line, reason in self.log.malformed:
            self.skip(None, Row(line, 0, ()), f"malformed row: {reason}")
        numbers = list(self.log.incidents)
        if self.limit is not None:
            numbers = numbers[:self.limit]
        tracks = [Track(n, i, self.log.incidents[n]) for i, n in enumerate(numbers)]
        self.summary.incidents = len(tracks)
        self.summary.rows = sum(len(t.rows) for t in tracks) + len(self.log.malformed)
        done = self._done(snap)
        pending = self._prepare(tracks, done)
        if not pending:
            self.summary.after = snap.oid
            self.summary.seconds = time.monotonic() - started
            return self.summary
        workflow = config.workflow_for(mapping.type, {})
        check_mapping(mapping, config, workflow, self.log.columns)
        new_config = self._extended_config(snap, config, pending)
        if new_config is not None:
            config = parse_config(new_config)
        self.config = config
        self.workflow = config.workflow_for(mapping.type, {})
        self.ticket_type = config.types[mapping.type]
        self.rules = Rules(config, snap.policy)
        self._attach(snap, tracks, done)
        parent = snap.oid
        if new_config is not None and not self.dry_run:
            parent = self._config_commit(snap, new_config)
            self.summary.config_changed = True
        elif new_config is not None:
            self.summary.config_changed = True
        events = sorted(pending, key=lambda e: (e[1].when, e[0].order, e[1].seq))
        self._write(events, parent, snap)
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _done(self, snap: Snapshot) -> dict[str, tuple[set[int], str | None]]:
        """Rows already imported (from the trailers on the branch), and their tickets."""
        done: dict[str, tuple[set[int], str | None]] = {}
        if snap.oid is None:
            return done
        out = gitio.run_git(self.desk.repo, [
            "log", "--no-show-signature", f"--grep=^{TRAILER}: {SOURCE} ",
            f"--format=%(trailers:key={TRAILER},valueonly,separator=%x1f)%x1d"
            "%(trailers:key=Gitdesk-Ticket,valueonly,separator=%x1f)%x1e", snap.oid])
        for record in out.decode("utf-8", "replace").split("\x1e"):
            imports, _, tickets = record.strip("\n").partition("\x1d")
            ticket = tickets.split("\x1f")[0].strip() or None
            for value in imports.split("\x1f"):
                match = TRAILER_RE.match(value.strip())
                if match:
                    rows, tid = done.setdefault(match.group(1), (set(), None))
                    rows.add(int(match.group(2)))
                    if tid is None and ticket:
                        done[match.group(1)] = (rows, ticket)
        return done

    def _prepare(self, tracks: list[Track],
                 done: dict[str, tuple[set[int], str | None]]) -> list[tuple[Track, Row]]:
        """Times (clamped so an incident never runs backwards) and the rows still to do."""
        pending = []
        at = self.col["sys_updated_at"]
        for track in tracks:
            rows_done = done.get(track.number, (set(), None))[0]
            last: int | None = None
            for row in track.rows:
                row.time = self.clock.parse(row.values[at])
                if row.time is not None:
                    row.when = row.time if last is None or row.time >= last else last
                    last = row.when
                if row.seq in rows_done:
                    row.done = True
                    self.summary.already += 1
                    continue
                if row.time is None:
                    self.skip(track, row, "sys_updated_at is not a time",
                              f"{row.values[at]!r}")
                    continue
                if row.when != row.time:
                    self.adjust("sys_updated_at before the incident's previous event: "
                                "dated at the previous event")
                pending.append((track, row))
            modcount = self.col.get("sys_mod_count")
            if modcount is not None:
                for before, after in zip(track.rows, track.rows[1:], strict=False):
                    low, high = _int(after.values[modcount]), _int(before.values[modcount])
                    if not after.done and low is not None and high is not None and low < high:
                        self.adjust("sys_mod_count lower than the previous event's "
                                    "(kept; rows stay in CSV order)")
        return pending

    def _attach(self, snap: Snapshot, tracks: list[Track],
                done: dict[str, tuple[set[int], str | None]]) -> None:
        """Tickets of incidents imported before (continued) get their current state."""
        for track in tracks:
            if track.number not in done:
                continue
            if not any(not r.done for r in track.rows):
                continue
            tid = done[track.number][1]
            if tid is None:
                continue
            path = snap.path_of(tid)
            blob = snap.read(path)
            if blob is None:
                continue
            loaded = yamlio.load(blob, path)
            data = from_roundtrip(loaded)
            if not isinstance(data, dict):
                continue
            track.tid, track.path, track.data, track.continued = tid, path, data, True
            if self.emitter.dump(data) != blob:
                track.roundtrip = Ticket(loaded, path)
            try:
                track.created = int(datetime.fromisoformat(
                    str(data["created"]).replace("Z", "+00:00")).timestamp())
            except (KeyError, ValueError):
                track.created = 0
        if self.desk.checked_out():
            expected = {t.path: snap.blob_oid(t.path) for t in tracks if t.path}
            dirty = gitio.dirty_paths(self.desk.repo, expected) if expected else []
            if dirty:
                raise GitdeskError(
                    "uncommitted edits in the working tree would be overwritten: "
                    + ", ".join(dirty[:10]),
                    hint="commit them (git commit), or discard them (git checkout -- PATH)")

    # -- config ----------------------------------------------------------------------

    def _category(self, row: Row) -> tuple[str | None, str | None]:
        category = self.value(row, "category")
        subcategory = self.value(row, "subcategory")
        if category is not None and category in self.mapping.category_map:
            category = self.mapping.category_map[category]
        if subcategory is not None and subcategory in self.mapping.subcategory_map:
            subcategory = self.mapping.subcategory_map[subcategory]
        return category, subcategory

    def _extended_config(self, snap: Snapshot, config: DeskConfig,
                         pending: list[tuple[Track, Row]]) -> bytes | None:
        mapping = self.mapping
        if not mapping.extend_config:
            return None
        known = config.types[mapping.type].categories
        wanted: dict[str, set[str]] = {}
        if known:
            for _track, row in pending:
                category, subcategory = self._category(row)
                if category is None:
                    continue
                subs = wanted.setdefault(category, set())
                if subcategory is not None:
                    subs.add(subcategory)
        add_categories = {c: sorted(s - set(known.get(c, ())), key=natural)
                          for c, s in wanted.items()
                          if c not in known or (known[c] and s - set(known[c]))}
        declared = {f.id for f in config.types[mapping.type].fields}
        add_fields = [f for f in mapping.fields if f.id not in declared] \
            if mapping.declare_fields else []
        if not add_categories and not add_fields:
            return None
        data = yamlio.load(snap.read(CONFIG_PATH) or b"", CONFIG_PATH)
        spec = data["types"][mapping.type]
        if add_categories:
            categories = spec["categories"]
            for category in sorted(add_categories, key=natural):
                names = add_categories[category]
                if category in categories and categories[category] is not None:
                    categories[category].extend(names)
                else:
                    items = yamlio.seq(names)
                    items.fa.set_flow_style()
                    categories[category] = items
        if add_fields:
            if spec.get("fields") is None:
                spec["fields"] = yamlio.seq()
            for f in add_fields:
                spec["fields"].append(yamlio.block_map(
                    {"id": f.id, "caption": f.caption, "title": f.caption, "format": f.format}))
        text = yamlio.dump(data)
        parse_config(text)  # raises InvalidFile naming the problem
        return text

    def _config_commit(self, snap: Snapshot, text: bytes) -> str:
        """The extended config, committed on snap (signed where the policy asks it)."""
        repo = self.desk.repo
        change = Change(subject=f"Import from ServiceNow: add the {self.mapping.type} "
                                "categories and fields the log uses", action="config",
                        files={CONFIG_PATH: text})
        signer = None
        if _needs_signature(repo, snap.policy):
            key = signing.SigningKey.from_git(repo, gitio.identity(repo, "COMMITTER").email)
            signer = key.sign if key is not None else None
        try:
            return self.desk.prepare(lambda _snap, _now, _author: change, signer=signer,
                                     snap=snap).commit
        except CommitRefused as exc:
            raise RuleViolation(
                "the import must extend .gitdesk/config.yaml with the categories and fields "
                "the log uses, and the desk refuses that change: "
                + "; ".join(v.message for v in exc.violations),
                hint="run the import as a policy admin (with your signing key), or set "
                     "categories.extend_config: false and declare_fields: false in a "
                     "--mapping file (and map the categories to the desk's)") from exc

    # -- events -----------------------------------------------------------------------

    def _write(self, events: list[tuple[Track, Row]], parent: str | None,
               snap: Snapshot) -> None:
        total = len(events)
        every = max(1, total // 200)
        taken: set[str] = set()
        writer = None if self.dry_run else BatchWriter(self.desk.repo, parent)
        try:
            for n, (track, row) in enumerate(events):
                if self.progress is not None and n % every == 0:
                    self.progress(n, total)
                try:
                    steps = self._steps(track, row, snap, taken)
                    blobs = self._blobs(track, steps)
                except Skip as skip:
                    self.skip(track, row, skip.reason, skip.detail)
                    continue
                self._commit(writer, track, row, steps, blobs)
            if self.progress is not None:
                self.progress(total, total)
            if writer is None:
                self.summary.after = self.summary.before
                return
            tip = writer.finish()
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        if tip is None:
            tip = parent
        self.summary.after = tip
        if tip is not None and tip != snap.oid:
            self.summary.warning = land(
                self.desk.repo, self.desk.ref, tip, snap.oid,
                f"gitdesk: import servicenow {Path(self.log.path).name}",
                checked_out=self.desk.checked_out())

    def _blobs(self, track: Track, steps: list[Step]) -> list[bytes]:
        """The file after each step (all of them before any is written: a row is whole)."""
        out = []
        old = track.data
        for step in steps:
            out.append(self._bytes(track, old, step.new))
            old = step.new
        return out

    def _commit(self, writer: BatchWriter | None, track: Track, row: Row,
                steps: list[Step], blobs: list[bytes]) -> None:
        assert track.tid is not None and track.path is not None
        author = self._author(row)
        trailer = (TRAILER, f"{SOURCE} {track.number}#{row.seq}")
        for step, data in zip(steps, blobs, strict=True):
            change = Change(subject=step.subject, action=step.action, tickets=[track.tid],
                            trailers=[*step.trailers, trailer])
            if writer is not None:
                writer.commit(author=author, committer=author, message=change.message(),
                              files={track.path: data})
            self.summary.commits += 1
        if track.data is None:
            self.summary.opened += 1
        elif track.continued:
            self.summary.continued += 1
            track.continued = False
        track.data = steps[-1].new
        self.summary.imported += 1

    def _bytes(self, track: Track, old: dict[str, Any] | None, new: dict[str, Any]) -> bytes:
        if track.roundtrip is not None and old is not None:
            sync_roundtrip(track.roundtrip, old, new)
            return yamlio.dump(track.roundtrip.data)
        data = self.emitter.dump(new)
        if data is None:
            data = yamlio.dump(to_roundtrip(new))
            try:
                same = plain(yamlio.load(data, track.path or "")) == plain(
                    to_roundtrip(new))
            except GitdeskError:
                same = False
            if not same:
                raise Skip("the ticket cannot be written as YAML that reads back the same")
        return data

    def _author(self, row: Row) -> Identity:
        name = self.value(row, "sys_updated_by") or "ServiceNow"
        person = self.mapping.authors.get(name)
        if person is not None:
            display = person.get("name", name)
            email = person.get("email") or f"{slug(display) or 'servicenow'}@" \
                                           f"{self.mapping.author_domain}"
        else:
            display = name
            email = f"{slug(name) or 'servicenow'}@{self.mapping.author_domain}"
        return Identity(display, email, row.when, 0)

    # -- one row ----------------------------------------------------------------------

    def _steps(self, track: Track, row: Row, snap: Snapshot, taken: set[str]) -> list[Step]:
        """The commits one row makes, each checked with the verifier's rules."""
        state = self.value(row, "incident_state")
        target = self.mapping.states.get(state) if state is not None else None
        if target is None:
            raise Skip(f"incident_state {state!r} is not in the mapping's states"
                       if state is not None else "no incident_state")
        steps: list[Step] = []
        current = track.data
        if current is None:
            self._mint(track, row, snap, taken)
            opened = self._open(track, row)
            steps.append(Step("open", f"{track.tid}: open — {opened['summary']}", opened))
            current = opened
        route = self._route(str(current["status"]), target)
        if route is None:
            raise Skip(f"the workflow has no way from {current['status']} to {target}",
                       f"incident_state {state}")
        if track.data is not None:
            updated = self._update(current, row)
            if route:
                steps.append(self._move(updated, route[0], row, state, route[0] == target,
                                        str(current["status"])))
                route = route[1:]
            else:
                if "pending_reason" in self.workflow.states[target].requires:
                    reason = self.mapping.pending_reasons.get(state or "") \
                        or self.mapping.default_pending_reason
                    updated = with_key(updated, "pending_reason", reason)
                steps.append(Step(*self._set_subject(track, current, updated), updated))
        for hop in route:
            before = steps[-1].new
            steps.append(self._move(before, hop, row, state, hop == target,
                                    str(before["status"])))
        old = track.data
        assert track.path is not None
        for step in steps:
            problems = check_change(self.rules, track.path, old, step.new)
            if problems:
                first = problems[0]
                raise Skip(f"refused by the desk's rules [{first.rule}]", first.message)
            old = step.new
        return steps

    def _route(self, source: str, target: str) -> list[str] | None:
        key = (source, target)
        if key not in self._routes:
            self._routes[key] = shortest_path(self.workflow, source, target)
        return self._routes[key]

    def _mint(self, track: Track, row: Row, snap: Snapshot, taken: set[str]) -> None:
        track.created = row.when
        if track.tid is not None:  # an earlier first row was skipped: same ID
            return
        prefix = self.ticket_type.prefix
        for salt in range(64):
            uid = deterministic_uid(row.when * 1000, track.number, salt)
            tid = ids.ticket_id(prefix, uid)
            path = ticket_path(self.mapping.type, tid)
            if tid not in taken and snap.read(path) is None:
                taken.add(tid)
                track.tid, track.uid, track.path = tid, uid, path
                return
        raise GitdeskError(f"could not mint a free ticket ID for {track.number}")

    def _open(self, track: Track, row: Row) -> dict[str, Any]:
        summary = self._template(self.mapping.summary, row) or f"ServiceNow {track.number}"
        base: dict[str, Any] = {
            "id": track.tid, "uid": track.uid,
            "type": self.mapping.type, "summary": summary,
            "status": self.workflow.initial, "created": iso(track.created),
            "links": [], "fields": Flow(), "notes": [],
        }
        return self._update(base, row)

    def _update(self, data: dict[str, Any], row: Row) -> dict[str, Any]:
        """The ticket with the row's values (not its state) applied."""
        mapping, config = self.mapping, self.config
        values: dict[str, Any] = {}
        impact = self._pick(mapping.impact, row, "impact")
        urgency = self._pick(mapping.urgency, row, "urgency")
        values["impact"], values["urgency"] = impact, urgency
        derived = config.derive_priority(impact, urgency)
        priority = self._pick(mapping.priority, row, "priority")
        if priority is None:
            priority = derived
        values["priority"] = priority
        values["priority_override"] = True if priority is not None and priority != derived \
            else None
        category, subcategory = self._category(row)
        categories = self.ticket_type.categories
        if categories and category is not None:
            if category not in categories:
                self.adjust("category not in the desk's config: left out")
                category = subcategory = None
            elif subcategory is not None and categories[category] \
                    and subcategory not in categories[category]:
                self.adjust("subcategory not in the desk's config: left out")
                subcategory = None
        if category is None and subcategory is not None and categories:
            self.adjust("subcategory without a category: left out")
            subcategory = None
        values["category"], values["subcategory"] = category, subcategory
        ci = self.value(row, "cmdb_ci")
        values["ci"] = (mapping.cis.get(ci) or slug(ci)) if ci is not None else None
        group = self.value(row, "assignment_group")
        values["group"] = (mapping.groups.get(group) or slug(group)) if group else None
        assignee = self.value(row, "assigned_to")
        values["assignee"] = (mapping.assignees.get(assignee) or slug(assignee)) \
            if assignee else None
        caller = self.value(row, "caller_id")
        if caller is not None:
            person = mapping.callers.get(caller) or {"name": caller}
            values["submitter"] = Flow(person)
        else:
            values["submitter"] = None
        target = config.priorities[priority].target \
            if priority is not None and priority in config.priorities else None
        values["due"] = iso(track_created(data) + int(target.total_seconds())) \
            if target is not None else None
        out = data
        for key, value in values.items():
            if value is None:
                out = without_key(out, key)
            elif out.get(key) != value:
                out = with_key(out, key, value)
        current = out.get("fields")
        # flow style, as `open` writes it (and the index's fast reader reads it);
        # a continued ticket keeps the style its file has
        fields = dict(current) if isinstance(current, dict) and not isinstance(current, Flow) \
            else Flow(current or {})
        for spec in mapping.fields:
            value = self._field(spec, row)
            if value is None:
                fields.pop(spec.id, None)
            else:
                fields[spec.id] = value
        if fields != out.get("fields"):
            out = with_key(out, "fields", fields)
        return out

    def _pick(self, table: dict[str, str], row: Row, column: str) -> str | None:
        value = self.value(row, column)
        if value is None:
            return None
        mapped = table.get(value)
        if mapped is None:
            self.adjust(f"{column} value not in the mapping: left out")
        return mapped

    def _field(self, spec: FieldSpec, row: Row) -> Any:
        value = self.value(row, spec.column)
        if value is None:
            return None
        if spec.format == "number":
            number = _int(value)
            if number is None:
                self.adjust(f"{spec.column} is not a number: field left out")
            return number
        if spec.format == "bool":
            lowered = value.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            self.adjust(f"{spec.column} is not true/false: field left out")
            return None
        if spec.format == "datetime":
            stamp = self.clock.parse(value)
            if stamp is None:
                self.adjust(f"{spec.column} is not a time: field left out")
                return None
            return iso(stamp)
        return value

    def _template(self, template: str, row: Row) -> str:
        columns = {name: (row.values[i] or "unknown") for name, i in self.col.items()}
        return " ".join(template.format_map(columns).split())

    def _move(self, data: dict[str, Any], target: str, row: Row, state: str | None,
              final: bool, source: str) -> Step:
        """One workflow step, with the fields the target state requires."""
        workflow, mapping = self.workflow, self.mapping
        out = with_key(data, "status", target)
        category = workflow.category(target)
        requires = workflow.states[target].requires
        if category == "resolved" or "resolution_code" in requires:
            code_text = self.value(row, "closed_code")
            code = mapping.resolution_codes.get(code_text) if code_text is not None else None
            if code is None:
                code = mapping.default_resolution_code
                if code_text is not None:
                    self.adjust("closed_code not in the mapping: default resolution code")
            out = with_key(out, "resolution_code", code)
            out = with_key(out, "solution", self._template(mapping.solution, row))
        elif category == "open" and workflow.category(source) != "open":
            out = without_key(without_key(out, "resolution_code"), "solution")
        if "pending_reason" in requires or target == "pending":
            reason = mapping.pending_reasons.get(state or "") if final else None
            out = with_key(out, "pending_reason", reason or mapping.default_pending_reason)
        else:
            out = without_key(out, "pending_reason")
        verb = next((k for k, v in workflow.shortcuts.items() if v == target), target)
        if verb == "reopen" and workflow.category(source) == "open":
            verb = target
        tid = data["id"]
        return Step("transition", f"{tid}: {verb} ({source} -> {target})", out,
                    [("Gitdesk-From", source), ("Gitdesk-To", target)])

    def _set_subject(self, track: Track, old: dict[str, Any],
                     new: dict[str, Any]) -> tuple[str, str]:
        changed = [k for k in new if k != "fields" and old.get(k) != new.get(k)]
        changed += [k for k in old if k not in new]
        shown = ", ".join(f"{k}={_short(new.get(k))}" for k in changed)
        if not shown:
            before = old.get("fields") or {}
            after = new.get("fields") or {}
            keys = [k for k in after if before.get(k) != after.get(k)]
            keys += [k for k in before if k not in after]
            shown = ", ".join(f"fields.{k}={_short(after.get(k))}" for k in keys) or "no change"
        action = "assign" if changed and set(changed) <= {"assignee", "group"} else "set"
        return action, f"{track.tid}: {action} — {shown}"


def track_created(data: dict[str, Any]) -> int:
    text = str(data.get("created", ""))
    stamp = _CREATED.get(text)
    if stamp is None:
        stamp = int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
        _CREATED[text] = stamp
    return stamp


_CREATED: dict[str, int] = {}


def shortest_path(workflow: Workflow, source: str, target: str) -> list[str] | None:
    """States to go through (target last) along the workflow's transitions; [] if there."""
    if source == target:
        return []
    if source not in workflow.states or target not in workflow.states:
        return None
    queue = deque([source])
    previous: dict[str, str] = {source: source}
    while queue:
        state = queue.popleft()
        for nxt in workflow.allowed(state):
            if nxt in previous or workflow.states[nxt].approval:
                continue
            previous[nxt] = state
            if nxt == target:
                path = [nxt]
                while previous[path[-1]] != source:
                    path.append(previous[path[-1]])
                return list(reversed(path))
            queue.append(nxt)
    return None


def sync_roundtrip(ticket: Ticket, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Apply the change old -> new to a round-trip ticket (comments and styles survive)."""
    for key in old:
        if key not in new:
            ticket.unset(key)
    for key, value in new.items():
        if key in old and old[key] == value:
            continue
        current = ticket.get(key)
        if key == "fields" and isinstance(current, dict) and isinstance(value, dict):
            for sub in [k for k in current if k not in value]:
                del current[sub]
            for sub, item in value.items():
                if current.get(sub) != item or sub not in current:
                    current[sub] = item
            continue
        ticket.set(key, to_roundtrip(value))


def _needs_signature(repo: gitio.Repo, policy: Policy) -> bool:
    if gitio.config(repo).get("commit.gpgsign", "").lower() in ("true", "yes", "on", "1"):
        return True
    return any(policy.people[a].keys for a in policy.admins if a in policy.people)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _short(value: Any) -> str:
    if isinstance(value, dict):
        value = ", ".join(f"{k}: {v}" for k, v in value.items())
    text = "" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def natural(text: str) -> list[Any]:
    """Sort key that puts "Category 9" before "Category 10"."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def import_log(desk: Desk, path: Path, *, mapping: Mapping | None = None,
               limit: int | None = None, dry_run: bool = False,
               progress: Progress | None = None, report: Report | None = None) -> Summary:
    """Read a ServiceNow incident event log and import it into the desk's branch."""
    if limit is not None and limit < 0:
        raise UsageError("--limit must be 0 or more")
    log = read_log(path)
    importer = Importer(desk, log, mapping or load_mapping(), limit=limit, dry_run=dry_run,
                        progress=progress, report=report)
    return importer.run()
