"""`gitdesk import servicenow`: a slice of the UCI ServiceNow event log as desk history.

Expectations are computed here, straight from the CSV, independently of the
importer: incidents, end states, reopened incidents, created and resolved
times. See tests/fixtures/servicenow/README.md for the data's attribution.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
import string
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gitdesk.domain.model import Flow, plain
from gitdesk.yaml import roundtrip as yamlio
from gitdesk.yaml.emitter import TicketEmitter
from gitdesk.yaml.roundtrip import to_roundtrip
from support.cli import Gitdesk

FIXTURE = Path(__file__).parent / "fixtures" / "servicenow" / "incident_event_log_slice.csv"
STATES = {"New": "new", "Active": "in-progress", "Awaiting User Info": "pending",
          "Awaiting Evidence": "pending", "Awaiting Vendor": "pending",
          "Awaiting Problem": "pending", "Resolved": "resolved", "Closed": "closed"}
ENDED = ("Resolved", "Closed")


# -- expectations from the CSV, computed independently -----------------------------------


def read_csv(path: Path = FIXTURE) -> tuple[list[str], dict[str, list[dict[str, str]]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        incidents: dict[str, list[dict[str, str]]] = {}
        for row in reader:
            incidents.setdefault(row["number"], []).append(row)
        return list(reader.fieldnames or []), incidents


def stamp(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def usable(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in rows if r["incident_state"] in STATES]


def end_state(rows: list[dict[str, str]]) -> str:
    return STATES[usable(rows)[-1]["incident_state"]]


def reopened(rows: list[dict[str, str]]) -> bool:
    states = [r["incident_state"] for r in usable(rows)]
    return any(a in ENDED and b not in ENDED for a, b in itertools.pairwise(states))


def resolved_at(rows: list[dict[str, str]]) -> str | None:
    """When the incident last entered Resolved (or Closed straight from an open state).

    An event never comes before the one before it in its incident: a time that goes
    backwards (the log has one) counts as the previous event's time."""
    found, previous, clock = None, None, None
    for row in rows:
        moment = stamp(row["sys_updated_at"])
        clock = moment if clock is None else max(clock, moment)
        state = row["incident_state"]
        if state not in STATES:
            continue
        if state in ENDED and previous not in ENDED:
            found = clock
        previous = state
    return iso(found) if found else None


def cut(incidents: dict[str, list[dict[str, str]]], until: datetime,
        columns: list[str], path: Path) -> dict[str, list[dict[str, str]]]:
    """The log as exported at `until`: each incident's rows up to that time."""
    kept: dict[str, list[dict[str, str]]] = {}
    for number, rows in incidents.items():
        prefix = []
        for row in rows:
            if stamp(row["sys_updated_at"]) > until:
                break
            prefix.append(row)
        if usable(prefix):
            kept[number] = prefix
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        for rows in kept.values():
            writer.writerows(rows)
    return kept


# -- reading the desk ------------------------------------------------------------------


def tickets(desk: Gitdesk) -> dict[str, dict[str, Any]]:
    """Every ticket of the checked-out desk by ServiceNow number."""
    out = {}
    for path in sorted((desk.path / "tickets").rglob("*.yaml")):
        data = plain(yamlio.load(path.read_bytes(), str(path)))
        out[data["fields"]["servicenow_number"]] = data
    return out


def transitions(desk: Gitdesk) -> list[tuple[str, str, str, str]]:
    """(ticket, from, to, author date) of every status change, oldest first."""
    fmt = ("%(trailers:key=Gitdesk-Ticket,valueonly,separator=)%x1f"
           "%(trailers:key=Gitdesk-From,valueonly,separator=)%x1f"
           "%(trailers:key=Gitdesk-To,valueonly,separator=)%x1f%ad%x1e")
    out = desk.git("log", "--reverse", "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
                   f"--format={fmt}")
    found = []
    for record in out.split("\x1e"):
        parts = record.strip("\n").split("\x1f")
        if len(parts) == 4 and parts[2]:
            found.append((parts[0], parts[1], parts[2], parts[3]))
    return found


def run_import(desk: Gitdesk, *args: str) -> str:
    result = desk("import", "servicenow", *args)
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result.stderr


# -- the tests -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log() -> tuple[list[str], dict[str, list[dict[str, str]]]]:
    return read_csv()


def test_fixture_has_the_quirks(log: tuple[list[str], dict[str, list[dict[str, str]]]]) -> None:
    _columns, incidents = log
    rows = [r for v in incidents.values() for r in v]
    assert 150 <= len(incidents) <= 300
    assert sum(r["incident_state"] == "-100" for r in rows) == 5
    assert sum(reopened(v) for v in incidents.values()) >= 10
    assert any("  " in r["opened_by"] for r in rows)
    assert any(stamp(b["sys_updated_at"]) < stamp(a["sys_updated_at"])
               for v in incidents.values() for a, b in itertools.pairwise(v))
    assert any(int(b["sys_mod_count"]) < int(a["sys_mod_count"])
               for v in incidents.values() for a, b in itertools.pairwise(v))
    assert all(v[0]["resolved_at"] != "?" or v[0]["closed_at"] != "?"
               for v in incidents.values())


@pytest.mark.slow
def test_import_a_log_cut_mid_way_then_the_whole_log(
        desk: Gitdesk, tmp_path: Path,
        log: tuple[list[str], dict[str, list[dict[str, str]]]]) -> None:
    """The log as it was on 15 Apr 2016 (incidents in every state), then the full log:
    end states, reopens, created/resolved times, doctor, verify; the second import
    continues the tickets of the first and equals a fresh import of the full log."""
    columns, incidents = log
    partial_csv = tmp_path / "partial.csv"
    partial = cut(incidents, datetime(2016, 4, 15, tzinfo=UTC), columns, partial_csv)
    assert len(partial) < len(incidents)

    before = desk.commits()
    stderr = run_import(desk, str(partial_csv))
    got = tickets(desk)
    assert set(got) == set(partial)
    expected = Counter(end_state(rows) for rows in partial.values())
    assert Counter(t["status"] for t in got.values()) == expected
    assert len(expected) >= 4, expected  # open and closed ones, several states
    open_states = {"new", "in-progress", "pending", "assigned"}
    assert sum(t["status"] in open_states for t in got.values()) == \
        sum(end_state(r) in open_states for r in partial.values())
    rows_total = sum(len(v) for v in partial.values())
    junk = sum(r["incident_state"] == "-100" for v in partial.values() for r in v)
    assert f"{rows_total - junk} rows imported, {junk} skipped" in stderr
    commits_after_partial = desk.commits()
    assert commits_after_partial - before >= rows_total - junk
    assert desk.git("status", "--porcelain").strip() == ""

    # the whole log: the tickets of the partial import continue
    first_stderr = stderr
    stderr = run_import(desk, str(FIXTURE))
    total = sum(len(v) for v in incidents.values())
    # skipped rows are not recorded: they are skipped (and reported) again
    assert f"{total - rows_total - 5 + junk} rows imported, 5 skipped, " \
           f"{rows_total - junk} already imported" in stderr
    both = first_stderr + stderr
    assert both.count("incident_state '-100' is not in the mapping's states") >= 5
    assert "sys_updated_at before the incident's previous event" in both
    assert "sys_mod_count lower" in both
    got = tickets(desk)
    assert set(got) == set(incidents)
    assert Counter(t["status"] for t in got.values()) == \
        Counter(end_state(rows) for rows in incidents.values())

    # reopened incidents: a move from resolved or closed back to in-progress
    moves = transitions(desk)
    by_id = {t["id"]: number for number, t in got.items()}
    reopened_desk = {by_id[tid] for tid, source, target, _ in moves
                     if source in ("resolved", "closed") and target == "in-progress"}
    assert reopened_desk == {n for n, rows in incidents.items() if reopened(rows)}

    # created = the first event's sys_updated_at; resolved = the last move into resolved
    last_resolved = {by_id[tid]: when for tid, _s, target, when in moves if target == "resolved"}
    for number, rows in incidents.items():
        ticket = got[number]
        assert ticket["created"] == iso(stamp(rows[0]["sys_updated_at"])), number
        assert last_resolved.get(number) == resolved_at(rows), number
        last = usable(rows)[-1]
        assert ticket["fields"].get("servicenow_opened_by") == \
            (" ".join(last["opened_by"].split()) if last["opened_by"] != "?" else None)
        if last["assigned_to"] != "?":
            assert ticket["assignee"] == last["assigned_to"].lower().replace(" ", "-")
        if last["assignment_group"] != "?":
            assert ticket["group"] == last["assignment_group"].lower().replace(" ", "-")
        if last["problem_id"] != "?":
            assert ticket["fields"]["servicenow_problem"] == " ".join(last["problem_id"].split())
        if ticket["status"] in ("resolved", "closed"):
            assert ticket["resolution_code"] == "other" and ticket["solution"]
        if ticket["status"] == "pending":
            assert ticket["pending_reason"] in ("awaiting-caller", "awaiting-vendor",
                                                "awaiting-problem")
    assert desk.git("status", "--porcelain").strip() == ""
    desk.ok("doctor")
    result = desk("verify")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "all rules hold" in result.stderr

    # re-running adds nothing
    head = desk.git("rev-parse", "HEAD")
    stderr = run_import(desk, str(FIXTURE))
    assert desk.git("rev-parse", "HEAD") == head
    assert f"0 rows imported, 5 skipped, {total - 5} already imported" in stderr

    # the continued desk holds the same tickets, byte for byte, as a fresh import
    fresh = Gitdesk(tmp_path)
    fresh.ok("init", "fresh")
    fresh = Gitdesk(tmp_path / "fresh")
    run_import(fresh, str(FIXTURE))
    ours = {p.relative_to(desk.path): p.read_bytes()
            for p in (desk.path / "tickets").rglob("*.yaml")}
    theirs = {p.relative_to(fresh.path): p.read_bytes()
              for p in (fresh.path / "tickets").rglob("*.yaml")}
    assert ours == theirs


def test_a_hand_edited_ticket_keeps_its_edit_when_the_import_continues(
        desk: Gitdesk, tmp_path: Path, log: tuple[list[str], dict[str, Any]]) -> None:
    """A later export has more rows; the ticket was edited by hand meanwhile: the
    import continues it through the round-trip writer, so the comment survives."""
    columns, incidents = log
    number, rows = next((n, r) for n, r in incidents.items()
                        if len(r) >= 5 and all(x["incident_state"] in STATES for x in r))
    for name, count in (("early.csv", 2), ("late.csv", len(rows))):
        with (tmp_path / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows[:count])
    run_import(desk, str(tmp_path / "early.csv"))
    path = next((desk.path / "tickets").rglob("*.yaml"))
    path.write_text("# checked by hand against ServiceNow\n" + path.read_text())
    desk.git("commit", "-qam", "a comment")
    stderr = run_import(desk, str(tmp_path / "late.csv"))
    assert f"{len(rows) - 2} rows imported" in stderr and "1 continued" in stderr
    assert path.read_text().startswith("# checked by hand against ServiceNow\n")
    assert tickets(desk)[number]["status"] == end_state(rows)
    result = desk("verify")
    assert result.exit_code == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_limit_dry_run_and_json_summary(desk: Gitdesk,
                                        log: tuple[list[str], dict[str, Any]]) -> None:
    _columns, incidents = log
    first = list(incidents)[:8]
    before = desk.commits()
    result = desk("import", "servicenow", str(FIXTURE), "--limit", "5", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert desk.commits() == before
    assert "would import" in result.stderr

    result = desk("import", "servicenow", str(FIXTURE), "--limit", "5", "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["incidents"] == 5 and summary["opened"] == 5
    assert summary["imported"] == sum(len(usable(incidents[n])) for n in first[:5])
    assert set(tickets(desk)) == set(first[:5])
    assert "100%" in result.stderr  # progress lines (stderr is not a terminal)

    run_import(desk, str(FIXTURE), "--limit", "8")
    assert set(tickets(desk)) == set(first)


def test_unusable_rows_are_counted_and_reported(desk: Gitdesk, tmp_path: Path,
                                                log: tuple[list[str], dict[str, Any]]) -> None:
    columns, incidents = log
    number = next(n for n, rows in incidents.items()
                  if len(rows) >= 5 and all(r["incident_state"] in STATES for r in rows))
    rows = incidents[number]
    broken = tmp_path / "broken.csv"
    with broken.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerow(rows[0])
        writer.writerow({**rows[1], "sys_updated_at": "yesterday"})
        writer.writerow({**rows[2], "incident_state": "Exploded"})
        handle.write("INC9999999,New,true\n")  # too few columns
        writer.writerows(rows[3:])
        writer.writerow({**rows[-1], "incident_state": "New"})  # closed -> new: no way
    stderr = run_import(desk, str(broken))
    assert f"{len(rows) - 2} rows imported, 4 skipped" in stderr
    assert "the workflow has no way from closed to new" in stderr
    assert "sys_updated_at is not a time" in stderr
    assert "incident_state 'Exploded' is not in the mapping's states" in stderr
    assert "malformed row: 3 columns, the header has 36" in stderr
    assert f"{number} row 2 (line 3)" in stderr
    assert len(tickets(desk)) == 1
    desk.ok("doctor")


def test_a_change_the_rules_refuse_is_skipped_with_its_reason(
        desk: Gitdesk, tmp_path: Path, log: tuple[list[str], dict[str, Any]]) -> None:
    """Active mapped to `assigned` (which requires an assignee): the Active rows
    without an assignee are refused by the verifier's rules, skipped and counted."""
    _columns, incidents = log
    limit = list(incidents).index("INC0000164") + 1
    unassigned = sum(r["incident_state"] == "Active" and r["assigned_to"] == "?"
                     for n in list(incidents)[:limit] for r in incidents[n])
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("states: {Active: assigned}\n")
    stderr = run_import(desk, str(FIXTURE), "--limit", str(limit), "--mapping", str(mapping))
    assert f"{unassigned}  refused by the desk's rules [required]" in stderr
    assert "assigned requires assignee" in stderr
    result = desk("verify")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_mapping_file(desk: Gitdesk, tmp_path: Path,
                      log: tuple[list[str], dict[str, Any]]) -> None:
    """A --mapping file laid over the default: names mapped, config left alone."""
    _columns, incidents = log
    shown = desk.ok("import", "servicenow", "--show-mapping")
    assert plain(yamlio.load(shown, "mapping"))["states"]["Active"] == "in-progress"
    number = next(n for n, rows in incidents.items()
                  if rows[-1]["assignment_group"] != "?" and rows[-1]["assigned_to"] != "?"
                  and rows[-1]["category"] != "?")
    last = incidents[number][-1]
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "groups: {{{}: network}}\n".format(json.dumps(last["assignment_group"]))
        + "assignees: {{{}: nina}}\n".format(json.dumps(last["assigned_to"]))
        + "categories: {extend_config: false}\ndeclare_fields: false\n"
        + "fields: {servicenow_symptom: null}\n")
    config_before = (desk.path / ".gitdesk/config.yaml").read_bytes()
    limit = list(incidents).index(number) + 1
    stderr = run_import(desk, str(FIXTURE), "--limit", str(limit), "--mapping", str(mapping))
    assert (desk.path / ".gitdesk/config.yaml").read_bytes() == config_before
    assert "category not in the desk's config: left out" in stderr
    ticket = tickets(desk)[number]
    assert ticket["group"] == "network" and ticket["assignee"] == "nina"
    assert "category" not in ticket and "servicenow_symptom" not in ticket["fields"]

    bad = tmp_path / "bad.yaml"
    bad.write_text("states: {Active: working}\n")
    result = desk("import", "servicenow", str(FIXTURE), "--mapping", str(bad))
    assert result.exit_code == 1
    assert "states.Active: 'working' is not one of" in result.stderr


# -- the emitter: byte for byte what ruamel writes -----------------------------------------

TRICKY = ["", " ", "true", "False", "null", "~", "yes", "No", "on", "1", "-1", "0x1F", "1e5",
          "1.5", ".inf", "0o17", "1_000", "2016-02-29", "2016-02-29T01:23:00Z", "12:30",
          "a: b", "a:b", "#x", "a #b", "a#b", "- x", "-x", "x-", "'q'", '"q"', "it's", "[a]",
          "{a}", "a, b", "a,b", "*a", "&a", "!a", "%a", "@a", "`a", "|", ">", "?", "? a",
          "a ", " a", "a  b", "Opened by  8", "Caller 2403", "Problem ID  2", "é", "naïve",
          "a\tb", "x\ny", "=", "<<", "NaN", "Inf", "e5", "E5", "o", "y", "n", "Y"]


def _text(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(TRICKY)
    alphabet = string.ascii_letters + string.digits + " -_.:/@+#'\",{}[]!&*?|>%"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))


def _scalar(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.1:
        return rng.choice([True, False])
    if roll < 0.2:
        return rng.randint(-5, 100000)
    return _text(rng)


def _ticket(rng: random.Random) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "INC-7Q2K9XDM", "uid": "01JDXK6Q2K9XDMT3VY8A0B5C1E",
                            "type": "incident", "summary": _text(rng) or "x"}
    for key in ("status", "impact", "priority", "category", "subcategory", "ci", "assignee",
                "group", "created", "due", "resolution_code", "solution"):
        if rng.random() < 0.7:
            data[key] = _scalar(rng)
    if rng.random() < 0.5:
        data["priority_override"] = True
    if rng.random() < 0.8:
        data["submitter"] = Flow({"name": _text(rng) or "x", **(
            {"email": _text(rng)} if rng.random() < 0.5 else {})})
    data["links"] = [Flow({"rel": "caused-by", "id": _text(rng)})
                     for _ in range(rng.randint(0, 2))]
    fields = {f"f_{i}" if rng.random() < 0.8 else rng.choice(["true", "1", "a.b", "x@y"]):
              _scalar(rng) for i in range(rng.randint(0, 8))}
    data["fields"] = Flow(fields) if rng.random() < 0.7 else fields
    data["notes"] = [Flow({"at": "2016-02-29T01:23:00Z", "by": _text(rng) or "x",
                           "text": _text(rng), "internal": rng.random() < 0.5})
                     for _ in range(rng.randint(0, 2))]
    if rng.random() < 0.3:
        data["cis"] = [_text(rng) or "x" for _ in range(rng.randint(1, 3))]
    return data


@pytest.mark.slow
def test_emitter_writes_what_ruamel_writes() -> None:
    rng = random.Random(498)
    emitter = TicketEmitter()
    answered = 0
    for _ in range(600):
        data = _ticket(rng)
        fast = emitter.dump(data)
        slow = yamlio.dump(to_roundtrip(data))
        if fast is None:
            continue  # the caller falls back to yamlio.dump
        answered += 1
        assert fast == slow, f"\n{fast.decode()}\n---\n{slow.decode()}"
        assert plain(yamlio.load(fast, "t.yaml")) == plain(to_roundtrip(data))
    assert answered > 450


def test_emitter_declines_what_it_cannot_write() -> None:
    emitter = TicketEmitter()
    literal = yamlio.block_text("two\nlines")  # a literal block: more than one line
    assert emitter.dump({"id": "x", "solution": literal}) is None
    assert emitter.dump({"id": "x", "solution": "two\nlines"}) == \
        yamlio.dump(to_roundtrip({"id": "x", "solution": "two\nlines"}))
    assert emitter.dump({"id": "x", "ratio": 1.5}) is None
    assert emitter.dump({"id": "x", "nested": {"a": {"b": 1}}}) is None
    assert emitter.dump({"id": "x", "solution": "one line"}) == b"id: x\nsolution: one line\n"
