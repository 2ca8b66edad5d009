"""Import a ServiceNow incident event log into desk history.

One back-dated commit per event row (author: sys_updated_by, date:
sys_updated_at), in time order across incidents, so the desk at any commit is
the desk as it was then. The mapping is mapping.py, what a row does to its
ticket translate.py; this module runs the import. It reads the branch once:
rows imported before (each commit's trailer `Gitdesk-Import: servicenow
<number>#<row>`, row = position in the incident from 1) are not imported again,
and their tickets continue. A sys_updated_at earlier than its incident's
previous row (the log has one) is dated at that row's time; sys_mod_count is
never used for ordering (it decreases 4 times in the log): rows keep their CSV
order. A first commit, through the store's commit path and signed where the
policy asks it, extends .gitdesk/config.yaml with the categories and fields
the log uses. Every step is checked with the verifier's per-file rules
(verify.check_change) and streamed to the batch writer; the branch moves once,
at the end. Unusable rows are skipped, reported with their reason and counted.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitdesk import gitio
from gitdesk.domain import ids
from gitdesk.domain.config import CONFIG_PATH, Policy
from gitdesk.domain.model import Ticket, plain, ticket_path
from gitdesk.errors import GitdeskError, RuleViolation, UsageError
from gitdesk.importers.servicenow.log import Clock, Log, Row, read_log, to_int
from gitdesk.importers.servicenow.mapping import (
    Mapping,
    check_mapping,
    extended_config,
    load_mapping,
)
from gitdesk.importers.servicenow.summary import Summary
from gitdesk.importers.servicenow.translate import (
    SOURCE,
    Opening,
    Skip,
    Step,
    Translator,
    deterministic_uid,
)
from gitdesk.store.batch import BatchWriter, land
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, CommitRefused, Desk
from gitdesk.verify.configs import parse_config
from gitdesk.verify.files import Rules, check_change
from gitdesk.verify.signing import SigningKey
from gitdesk.yaml import roundtrip as yamlio
from gitdesk.yaml.emitter import TicketEmitter
from gitdesk.yaml.roundtrip import from_roundtrip, sync_roundtrip, to_roundtrip

TRAILER = "Gitdesk-Import"
TRAILER_RE = re.compile(r"^servicenow (.+)#([0-9]+)$")
EXAMPLES_PER_REASON = 10


Progress = Callable[[int, int], None]
Report = Callable[[str], None]
Done = dict[str, tuple[set[int], str | None]]  # number -> (rows imported, ticket ID)


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
    continued: bool = False


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
        check_mapping(mapping, config, config.workflow_for(mapping.type, {}), self.log.columns)
        translator = Translator(mapping, config, self.log.columns, clock=self.clock)
        new_config = extended_config(snap.read(CONFIG_PATH) or b"", config, mapping,
                                     (translator.category(row.values) for _t, row in pending))
        if new_config is not None:
            config = parse_config(new_config)
            translator = Translator(mapping, config, self.log.columns, clock=self.clock)
            self.summary.config_changed = True
        self.translator = translator
        self.rules = Rules(config, snap.policy)
        self._attach(snap, tracks, done)
        parent = snap.oid
        if new_config is not None and not self.dry_run:
            parent = self._config_commit(snap, new_config)
        events = sorted(pending, key=lambda e: (e[1].when, e[0].order, e[1].seq))
        self._write(events, parent, snap)
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _done(self, snap: Snapshot) -> Done:
        """Rows already imported (from the trailers on the branch), and their tickets."""
        done: Done = {}
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

    def _prepare(self, tracks: list[Track], done: Done) -> list[tuple[Track, Row]]:
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
                    low, high = to_int(after.values[modcount]), to_int(before.values[modcount])
                    if not after.done and low is not None and high is not None and low < high:
                        self.adjust("sys_mod_count lower than the previous event's "
                                    "(kept; rows stay in CSV order)")
        return pending

    def _attach(self, snap: Snapshot, tracks: list[Track], done: Done) -> None:
        """Tickets of incidents imported before (continued) get their current state."""
        for track in tracks:
            tid = done[track.number][1] if track.number in done else None
            if tid is None or all(r.done for r in track.rows):
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
        if self.desk.checked_out():
            expected = {t.path: snap.blob_oid(t.path) for t in tracks if t.path}
            dirty = gitio.dirty_paths(self.desk.repo, expected) if expected else []
            if dirty:
                raise GitdeskError(
                    "uncommitted edits in the working tree would be overwritten: "
                    + ", ".join(dirty[:10]),
                    hint="commit them (git commit), or discard them (git checkout -- PATH)")

    def _config_commit(self, snap: Snapshot, text: bytes) -> str:
        """The extended config, committed on snap (signed where the policy asks it)."""
        repo = self.desk.repo
        change = Change(subject=f"Import from ServiceNow: add the {self.mapping.type} "
                                "categories and fields the log uses", action="config",
                        files={CONFIG_PATH: text})
        signer = None
        if _needs_signature(repo, snap.policy):
            key = SigningKey.from_git(repo, gitio.identity(repo, "COMMITTER").email)
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
                found = self._row(track, row, snap, taken)
                if isinstance(found, Skip):
                    self.skip(track, row, found.reason, found.detail)
                    continue
                self._commit(writer, track, row, *found)
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

    def _row(self, track: Track, row: Row, snap: Snapshot,
             taken: set[str]) -> tuple[list[Step], list[bytes]] | Skip:
        """The steps of one row, each checked with the verifier's rules, and the file
        after each (all of them before any is written: a row is whole)."""
        opening = None
        if track.data is None and self.translator.target(row.values) is not None:
            # minted before the row's other rules run: when they skip the row, the
            # incident's next row opens the ticket under the same ID
            self._mint(track, row, snap, taken)
            assert track.tid is not None and track.uid is not None
            opening = Opening(track.tid, track.uid, row.when)
        translation = self.translator.translate(track.data, row.values, opening=opening)
        for reason in translation.adjusted:
            self.adjust(reason)
        if translation.skip is not None:
            return translation.skip
        steps = translation.steps
        old = track.data
        assert track.path is not None
        for step in steps:
            problems = check_change(self.rules, track.path, old, step.new)
            if problems:
                first = problems[0]
                return Skip(f"refused by the desk's rules [{first.rule}]", first.message)
            old = step.new
        blobs = []
        old = track.data
        for step in steps:
            data = self._bytes(track, old, step.new)
            if data is None:
                return Skip("the ticket cannot be written as YAML that reads back the same")
            blobs.append(data)
            old = step.new
        return steps, blobs

    def _commit(self, writer: BatchWriter | None, track: Track, row: Row,
                steps: list[Step], blobs: list[bytes]) -> None:
        assert track.tid is not None and track.path is not None
        author = self.translator.author(row.values, row.when)
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

    def _bytes(self, track: Track, old: dict[str, Any] | None,
               new: dict[str, Any]) -> bytes | None:
        """The file of a ticket version (None: no YAML reads back as the version)."""
        if track.roundtrip is not None and old is not None:
            sync_roundtrip(track.roundtrip, old, new)
            return yamlio.dump(track.roundtrip.data)
        data = self.emitter.dump(new)
        if data is not None:
            return data
        data = yamlio.dump(to_roundtrip(new))
        try:
            same = plain(yamlio.load(data, track.path or "")) == plain(to_roundtrip(new))
        except GitdeskError:
            same = False
        return data if same else None

    def _mint(self, track: Track, row: Row, snap: Snapshot, taken: set[str]) -> None:
        if track.tid is not None:  # an earlier first row was skipped: same ID
            return
        prefix = self.translator.ticket_type.prefix
        for salt in range(64):
            uid = deterministic_uid(row.when * 1000, track.number, salt)
            tid = ids.ticket_id(prefix, uid)
            path = ticket_path(self.mapping.type, tid)
            if tid not in taken and snap.read(path) is None:
                taken.add(tid)
                track.tid, track.uid, track.path = tid, uid, path
                return
        raise GitdeskError(f"could not mint a free ticket ID for {track.number}")


def _needs_signature(repo: gitio.Repo, policy: Policy) -> bool:
    if gitio.config(repo).get("commit.gpgsign", "").lower() in ("true", "yes", "on", "1"):
        return True
    return any(policy.people[a].keys for a in policy.admins if a in policy.people)


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
