"""Property tests: whatever a user types comes back exactly, and changes nothing else.

Text goes in through the library (fast) and the command line (a few cases),
and is read back with `gitdesk show --format json`, through the index
(`gitdesk list`) and with an independent YAML loader on the committed blob.
Text with control characters may instead be refused cleanly (a GitdeskError,
exit 1 or 2, nothing written); it may never be altered or crash the command.

The mini JSON Schema validator in gitdesk.schema is checked against the
`jsonschema` package on the shipped schemas.
"""

from __future__ import annotations

import calendar
import copy
import datetime
import json
import re
import subprocess
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from gitdesk.actions import tickets as actions
from gitdesk.actions.init import template_file
from gitdesk.domain import schema
from gitdesk.domain.model import plain
from gitdesk.errors import GitdeskError
from gitdesk.store.write import Desk
from gitdesk.yaml import roundtrip as yamlio
from support.cli import Gitdesk

WHEN = "2025-05-06T07:08:09Z"
TEXT_FIELD = "vendor_case"  # a custom text field of incidents in the itil template

# Every example writes commits to a real repository: shrinking a failure would
# take minutes, so failures are reported as found (explicit examples pin the
# known ones, and report_multiple_bugs shows one per distinct cause).
PROPS = settings(max_examples=50, deadline=None, database=None,
                 phases=(Phase.explicit, Phase.generate),
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])
FEW = settings(PROPS, max_examples=15)

NASTY = [
    "x\nstatus: closed", "&anchor", "*alias", "!!python/object:os.system", "!tag x", "---",
    "...", "# comment", " leading", "trailing ", "\ttab", "a\r\nb", "\r", "?x", "? x",
    "- item", "key: value", ": x", "{a: 1}", "[1, 2]", "'", '"', "|", ">", "%YAML 1.2", "@x",
    "`x", "~", "null", "yes", "no", "on", "1", "0x1F", "1e3", ".inf", "2026-01-01", "12:30",
    "\u2028", "\u2029", "\x85", "\ufeff", "\x1b[31m", "\x7f", "\x01", "\x00", "é", "😀",
    "\\", "\\n", "a  b", "a\n\nb", "a \nb", "a\n b", "\n", " ", "",
]
CONTROL = [chr(c) for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))]
PIECES = st.sampled_from(NASTY) | st.text(st.sampled_from(
    [*CONTROL, " ", "a", "Z", ":", "#", "?", "-", "'", '"', "&", "*", "!", "%", "\u2028"]),
    max_size=3)


def texts(*, argv: bool = False) -> st.SearchStrategy[str]:
    """Arbitrary text, biased towards what YAML finds hard; argv cannot carry NUL."""
    chars = st.characters(codec="utf-8", exclude_characters="\x00" if argv else "")
    strategy = st.one_of(
        st.text(chars, min_size=1, max_size=30),
        st.lists(PIECES, min_size=1, max_size=5).map("".join),
    )
    if argv:
        strategy = strategy.map(lambda s: s.replace("\x00", ""))
    return strategy.filter(lambda s: s != "")


def may_refuse(text: str) -> bool:
    """Control characters (other than tab, newline, carriage return) may be refused."""
    return any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text)


@pytest.fixture
def lib(desk: Gitdesk, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Gitdesk, Desk]]:
    monkeypatch.setenv("GIT_AUTHOR_DATE", WHEN)
    monkeypatch.setenv("GIT_COMMITTER_DATE", WHEN)
    yield desk, Desk.open(str(desk.path))


def show(desk: Gitdesk, tid: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(desk.ok("show", tid, "--format", "json"))
    return result


def head(desk: Gitdesk) -> str:
    return desk.git("rev-parse", "HEAD")


def committed(desk: Gitdesk, tid: str) -> Any:
    """The ticket as another YAML loader (ruamel's safe, pure-Python one) reads it."""
    path = desk.git("ls-files", f"tickets/*/*/{tid}.yaml").strip()
    return YAML(typ="safe", pure=True).load(desk.git("show", f"HEAD:{path}"))


def same_text(loaded: Any, text: str) -> bool:
    """What the other loader read equals the text (a value it resolves as a
    timestamp is not comparable: gitdesk reads timestamps as text, by design)."""
    return isinstance(loaded, datetime.date) or loaded == text


def listed(desk: Gitdesk, tid: str, column: str) -> Any:
    rows = json.loads(desk.ok("list", "--format", "json", "--columns", f"id,{column}"))
    return next(row[column] for row in rows if row["id"] == tid)


def attempt(desk: Gitdesk, text: str, action: Callable[[], Any], *,
            empty_refused: bool = False) -> Any:
    """Run an action; a refusal must be clean and allowed for this text."""
    before = head(desk)
    try:
        return action()
    except GitdeskError as exc:
        assert head(desk) == before
        assert desk.git("status", "--porcelain") == ""
        if empty_refused and not text.strip():
            assert "empty" in str(exc)
            return None
        assert may_refuse(text), f"{text!r} refused: {exc}"
        return None


def baseline(desk: Gitdesk, lib_desk: Desk) -> dict[str, Any]:
    written = actions.open_ticket(lib_desk, actions.OpenRequest("incident", "baseline"))
    return show(desk, written.change.tickets[0])


def expected_from(base: dict[str, Any], got: dict[str, Any], **changes: Any) -> dict[str, Any]:
    expected = {**base, "id": got["id"], "uid": got["uid"], **changes}
    return {k: v for k, v in expected.items() if v is not None}


# --- library: open -------------------------------------------------------------------------

@pytest.mark.slow
@PROPS
@given(text=texts())
@example(text="x\nstatus: closed")
@example(text="a\x85b")
@example(text="a\u2029b")
@example(text="\x00")
def test_summary_round_trips(lib: tuple[Gitdesk, Desk], text: str) -> None:
    desk, lib_desk = lib
    base = baseline(desk, lib_desk)
    written = attempt(desk, text, lambda: actions.open_ticket(
        lib_desk, actions.OpenRequest("incident", text)))
    if written is None:
        return
    tid = written.change.tickets[0]
    got = show(desk, tid)
    assert got == expected_from(base, got, summary=text)
    doc = committed(desk, tid)
    assert set(doc) == set(got)
    assert same_text(doc["summary"], text)
    assert listed(desk, tid, "summary") == text


@pytest.mark.slow
@PROPS
@given(text=texts())
@example(text="line one\nline two")
@example(text="trailing space \nnext")
@example(text="a\x85b")
def test_description_round_trips(lib: tuple[Gitdesk, Desk], text: str) -> None:
    desk, lib_desk = lib
    base = baseline(desk, lib_desk)
    written = attempt(desk, text, lambda: actions.open_ticket(
        lib_desk, actions.OpenRequest("incident", "s", description=text)))
    if written is None:
        return
    tid = written.change.tickets[0]
    got = show(desk, tid)
    assert got == expected_from(base, got, summary="s", description=text)
    assert same_text(committed(desk, tid)["description"], text)


@pytest.mark.slow
@PROPS
@given(text=texts())
@example(text="?x")
@example(text=": x")
@example(text="a\x85b")
def test_custom_field_round_trips(lib: tuple[Gitdesk, Desk], text: str) -> None:
    desk, lib_desk = lib
    base = baseline(desk, lib_desk)
    written = attempt(desk, text, lambda: actions.open_ticket(
        lib_desk, actions.OpenRequest("incident", "s", fields={TEXT_FIELD: text})))
    if written is None:
        return
    tid = written.change.tickets[0]
    got = show(desk, tid)
    fields = {**base["fields"], TEXT_FIELD: text}
    assert got == expected_from(base, got, summary="s", fields=fields)
    assert same_text(committed(desk, tid)["fields"][TEXT_FIELD], text)


NAME_CHARS = st.characters(codec="utf-8", exclude_characters="<>@")
NAMES = st.one_of(st.text(NAME_CHARS, min_size=1, max_size=20),
                  st.lists(PIECES, min_size=1, max_size=4).map("".join)) \
    .map(lambda s: s.replace("<", "").replace(">", "").replace("@", "").strip()) \
    .filter(bool)
EMAILS = st.from_regex(r"[a-z0-9._+-]{1,10}@[a-z0-9-]{1,10}\.(org|com)", fullmatch=True)
PADDING = st.sampled_from(["", " ", "  ", "\t"])


@pytest.mark.slow
@PROPS
@given(name=NAMES, email=st.none() | EMAILS, pad=PADDING)
@example(name="x\nstatus: closed", email=None, pad="")
@example(name="?x", email="a@b.org", pad="")
@example(name=": x", email=None, pad="\t")
@example(name="a\x85b", email=None, pad="")
def test_submitter_round_trips(lib: tuple[Gitdesk, Desk], name: str, email: str | None,
                               pad: str) -> None:
    """"Name <email>" is split; surrounding blanks are trimmed; the rest is kept exactly."""
    desk, lib_desk = lib
    base = baseline(desk, lib_desk)
    typed = f"{pad}{name}{pad}" + (f" <{email}>" if email else "")
    written = attempt(desk, typed, lambda: actions.open_ticket(
        lib_desk, actions.OpenRequest("incident", "s", values={"submitter": typed})))
    if written is None:
        return
    tid = written.change.tickets[0]
    got = show(desk, tid)
    person = {"name": name, "email": email} if email else {"name": name}
    assert got == expected_from(base, got, summary="s", submitter=person)
    loaded = committed(desk, tid)["submitter"]
    assert set(loaded) == set(person) and same_text(loaded["name"], name)


# --- library: edits of an existing ticket ---------------------------------------------------

@pytest.fixture
def existing(lib: tuple[Gitdesk, Desk]) -> tuple[Gitdesk, Desk, str]:
    desk, lib_desk = lib
    written = actions.open_ticket(lib_desk, actions.OpenRequest(
        "incident", "Existing", description="Before", values={"impact": "high"}))
    return desk, lib_desk, written.change.tickets[0]


@pytest.mark.slow
@PROPS
@given(text=texts())
@example(text="x\nstatus: closed")
@example(text="?x")
@example(text=": x")
@example(text="a\x85b")
@example(text="\x00")
def test_note_round_trips(existing: tuple[Gitdesk, Desk, str], text: str) -> None:
    desk, lib_desk, tid = existing
    before = show(desk, tid)
    written = attempt(desk, text, lambda: actions.add_note(lib_desk, tid, text=text),
                      empty_refused=True)
    if written is None:
        assert show(desk, tid) == before
        return
    note = {"at": WHEN, "by": "test", "text": text, "internal": False}
    assert show(desk, tid) == {**before, "notes": [*before["notes"], note]}
    assert same_text(committed(desk, tid)["notes"][-1]["text"], text)


@pytest.mark.slow
@PROPS
@given(key=st.sampled_from(["summary", "description", "ci", "workaround"]), text=texts())
@example(key="description", text="a\n b \n")
@example(key="summary", text="a\x85b")
def test_set_text_round_trips(existing: tuple[Gitdesk, Desk, str], key: str,
                              text: str) -> None:
    desk, lib_desk, tid = existing
    before = show(desk, tid)
    written = attempt(desk, text, lambda: actions.set_values(lib_desk, tid,
                                                             values={key: text}))
    if written is None:
        assert show(desk, tid) == before
        return
    assert show(desk, tid) == {**before, key: text}
    assert same_text(committed(desk, tid)[key], text)


@pytest.mark.slow
@PROPS
@given(text=texts())
@example(text="?x")
@example(text=": x")
@example(text="a\x85b")
def test_set_custom_field_round_trips(existing: tuple[Gitdesk, Desk, str], text: str) -> None:
    desk, lib_desk, tid = existing
    before = show(desk, tid)
    written = attempt(desk, text, lambda: actions.set_values(
        lib_desk, tid, values={}, fields={TEXT_FIELD: text}))
    if written is None:
        assert show(desk, tid) == before
        return
    assert show(desk, tid) == {**before, "fields": {**before["fields"], TEXT_FIELD: text}}


# --- the command line ----------------------------------------------------------------------

@FEW
@given(summary=texts(argv=True), description=texts(argv=True), field=texts(argv=True),
       note=texts(argv=True))
@example(summary="-x", description="--help", field="a=b", note="-m")
@example(summary="a\x85b", description="d", field="f", note="n")
def test_cli_round_trips(lib: tuple[Gitdesk, Desk], summary: str, description: str,
                         field: str, note: str) -> None:
    desk, lib_desk = lib
    base = baseline(desk, lib_desk)
    before = head(desk)
    result = desk("open", "incident", "-s", summary, "-d", description, "--field",
                  f"{TEXT_FIELD}={field}")
    if result.exit_code != 0:
        assert result.exit_code in (1, 2), result
        assert "internal error" not in result.stderr
        assert head(desk) == before
        assert any(may_refuse(t) for t in (summary, description, field)), result
        return
    tid = result.stdout.strip()
    assert result.stdout == f"{tid}\n"
    got = show(desk, tid)
    assert got == expected_from(base, got, summary=summary, description=description,
                                fields={**base["fields"], TEXT_FIELD: field})
    before = head(desk)
    result = desk("note", tid, "-m", note)
    if result.exit_code != 0:
        assert result.exit_code in (1, 2) and "internal error" not in result.stderr, result
        assert head(desk) == before
        # `-m -` reads the note from stdin, which is empty here: refused as an empty note
        assert may_refuse(note) or not note.strip() or note == "-", result
        return
    assert show(desk, tid)["notes"] == [{"at": WHEN, "by": "test", "text": note,
                                         "internal": False}]


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "note\x00\nstatus: closed"])
def test_nul_from_stdin_is_refused_cleanly_or_kept(lib: tuple[Gitdesk, Desk],
                                                   text: str) -> None:
    desk, _lib_desk = lib
    tid = desk.open("incident", "-s", "NUL")
    before = head(desk)
    result = desk("note", tid, "-m", "-", input=text)
    if result.exit_code == 0:
        assert show(desk, tid)["notes"][-1]["text"] == text
    else:
        assert result.exit_code in (1, 2), result
        assert "internal error" not in result.stderr, result.stderr
        assert head(desk) == before


@pytest.mark.parametrize("command", [("open", "incident", "-s"), ("note", "{tid}", "-m")])
def test_invalid_utf8_in_argv_is_refused_cleanly(desk: Gitdesk, gitdesk_bin: str,
                                                 command: tuple[str, ...]) -> None:
    """A Latin-1 terminal sends bytes that are not UTF-8: refuse them, do not crash."""
    tid = desk.open("incident", "-s", "x")
    before = head(desk)
    args = [gitdesk_bin.encode(), *(part.format(tid=tid).encode() for part in command),
            b"caf\xe9"]
    proc = subprocess.run(args, cwd=desk.path, capture_output=True, timeout=60)
    assert proc.returncode in (1, 2), proc
    assert b"internal error" not in proc.stderr, proc.stderr
    assert head(desk) == before
    assert desk.git("status", "--porcelain") == ""


@pytest.mark.slow
def test_nasty_values_through_the_installed_script(desk: Gitdesk, gitdesk_bin: str) -> None:
    values = ["x\nstatus: closed", "&anchor *alias", "!!python/object:os.system", "---",
              "# comment", "  padded\t", "a\r\nb", "é 😀 \u2028"]
    for value in values:
        opened = subprocess.run([gitdesk_bin, "open", "incident", "-s", value, "-d", value,
                                 "--field", f"{TEXT_FIELD}={value}"], cwd=desk.path,
                                capture_output=True, text=True, timeout=60)
        assert opened.returncode == 0, opened.stderr
        tid = opened.stdout.strip()
        noted = subprocess.run([gitdesk_bin, "note", tid, "-m", value], cwd=desk.path,
                               capture_output=True, text=True, timeout=60)
        assert noted.returncode == 0, noted.stderr
        data = show(desk, tid)
        assert (data["summary"], data["description"], data["fields"][TEXT_FIELD],
                data["notes"][0]["text"], data["status"]) == (value, value, value, value, "new")


# --- the mini validator against jsonschema --------------------------------------------------

RFC3339 = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
                     r"(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$", re.IGNORECASE)


def rfc3339(value: object) -> bool:
    """JSON Schema's date-time format (RFC 3339 section 5.6), as rfc3339-validator checks it."""
    if not isinstance(value, str):
        return True
    match = RFC3339.match(value)
    if not match:
        return False
    year, month, day = (int(g) for g in match.groups())
    return 1 <= day <= calendar.monthrange(year, month)[1]


FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date-time")(rfc3339)


def reference(name: str) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(schema.load_schema(name), format_checker=FORMATS)


def agree(name: str, doc: Any) -> None:
    ours = schema.validate(name, doc)
    theirs = sorted(reference(name).iter_errors(doc), key=lambda e: list(e.path))
    assert (not ours) == (not theirs), (
        f"gitdesk: {[str(e) for e in ours]}\n"
        f"jsonschema: {[f'{list(e.path)}: {e.message}' for e in theirs]}\n"
        f"document: {json.dumps(doc, ensure_ascii=False, default=str)[:2000]}")


VALID_TICKET: dict[str, Any] = {
    "id": "INC-7Q2K9XDM", "uid": "01JDXK6Q2K9XDMT3VY8A0B5C1E", "type": "incident",
    "summary": "Web server not rendering pages", "description": "Long text",
    "status": "in-progress", "impact": "high", "urgency": "high", "priority": "critical",
    "priority_override": False, "severity": "sev2", "major": True, "category": "Network",
    "subcategory": "Load balancer", "ci": "web01", "assignee": "gary", "group": "network",
    "submitter": {"name": "Hans", "email": "hans@example.org"},
    "created": "2026-11-25T16:21:00Z", "due": "2026-11-25T17:21:00+01:00",
    "pending_reason": "awaiting-vendor", "resolution_code": "fixed", "solution": "done",
    "root_cause": "x", "symptom": "y", "workaround": "z", "known_error": False, "risk": "low",
    "implementation_plan": "a", "backout_plan": "b", "test_plan": "c",
    "window": {"start": "2026-11-25T16:21:00Z", "end": "2026-11-25T18:00:00.5Z"},
    "cis": ["web01", "web02"], "services": ["www"],
    "escalation": {"level": 1, "manager": "admin"},
    "links": [{"rel": "caused-by", "id": "PRB-3MZ81KQA"}],
    "fields": {"vendor_case": "4711", "outage_minutes": 5, "ratio": 0.5, "flag": True,
               "none": None},
    "notes": [{"at": "2026-11-25T16:40:00Z", "by": "gary", "text": "Restarted httpd",
               "internal": False}],
    "events": [{"at": "2026-11-25T16:40:00Z", "by": "gary", "kind": "escalated", "level": 1,
                "from": "a", "to": "b", "text": "t"}],
    "approvals": [{"by": "carol", "decision": "approved", "at": "2026-11-25T16:50:00Z",
                   "comment": "ok", "level": 0, "group": "cab", "content_hash": "a" * 64}],
}

# Values on which the two validators are known to disagree (date-times that are
# not RFC 3339, 1.0 as an integer, true as the const 1) are left to EDGE_CASES,
# so that a failure here is always news.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([2.5, -1.5, 1e20]),
    st.sampled_from([
        "", "new", "in-progress", "gary", "-bad", "bad name", "x\n", "INC-7Q2K9XDM",
        "INC-7Q2K9XD", "inc-7q2k9xdm", "01JDXK6Q2K9XDMT3VY8A0B5C1E", "a" * 64, "A" * 64,
        "low", "approved", "maybe", "8h", "1.5 d", "soon", "hans@example.org", "no at sign",
        "2026-11-25T16:21:00Z", "2026-11-25T16:21:00.123+05:30", "2026-02-29T00:00:00Z",
        "2028-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-31T00:00:00Z",
        "2026-11-25T24:00:00Z", "yesterday", "2026-11-25", "16:21:00Z", "2026-11-25T",
    ]),
    st.text(max_size=6),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["name", "email", "rel", "id", "at", "by", "text",
                                     "start", "end", "level", "x"]) | st.text(max_size=4),
                    inner, max_size=3)), max_leaves=6)


def locations(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from locations(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from locations(value, (*path, i))


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(locations(doc))))
        if path in ((), ("version",)):
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[last] = draw(VALUES)
        elif action == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["bogus", "name", "id", "at"]) | st.text(max_size=4))] \
                = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return doc


def template(name: str) -> Any:
    raw = plain(yamlio.load(template_file("itil", f"{name}.yaml"), name))
    if name == "policy":
        raw["people"]["carol"] = {"name": "Carol", "email": "carol@example.org",
                                  "keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF2UuP7rXTrYAP"
                                           "nXvCpPP9U30wZQEieogdwAULeBDzL1"]}
    return raw


@pytest.mark.parametrize(("name", "doc"), [
    ("ticket", VALID_TICKET), ("config", template("config")), ("policy", template("policy")),
])
def test_base_documents_are_valid_for_both(name: str, doc: Any) -> None:
    assert schema.validate(name, doc) == []
    assert reference(name).is_valid(doc)


@PROPS
@given(doc=mutated(VALID_TICKET))
def test_validators_agree_on_tickets(doc: Any) -> None:
    agree("ticket", doc)


@PROPS
@given(doc=mutated(template("config")))
def test_validators_agree_on_configs(doc: Any) -> None:
    agree("config", doc)


@PROPS
@given(doc=mutated(template("policy")))
def test_validators_agree_on_policies(doc: Any) -> None:
    agree("policy", doc)


def _with(base: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = copy.deepcopy(base)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


EDGE_CASES = [
    ("ticket", ("created",), "2026-11-25T16:21:00"),        # no offset
    ("ticket", ("created",), "2026-11-25 16:21:00Z"),       # space for T
    ("ticket", ("created",), "2026-11-25T16:21Z"),          # no seconds
    ("ticket", ("created",), "2026-11-25T16:21:00+0100"),   # offset without colon
    ("ticket", ("created",), "2026-11-25t16:21:00z"),       # lower case (RFC 3339 allows)
    ("ticket", ("created",), "2026-02-29T00:00:00Z"),       # no such day
    ("ticket", ("escalation", "level"), 1.0),               # an integer, to JSON Schema
    ("ticket", ("escalation", "level"), True),              # not an integer
    ("ticket", ("major",), 1),                              # not a boolean
    ("ticket", ("cis",), ["a", "a"]),                       # not unique
    ("ticket", ("id",), "INC-7Q2K9XDM\n"),                  # $ matches before a newline
    ("ticket", ("summary",), ""),
    ("config", ("version",), True),                         # const 1: true is not 1
    ("config", ("version",), 1.0),
    ("config", ("priorities", "high", "target"), None),
    ("config", ("types", "incident", "workflow"), {"field": "x", "map": {}}),
    ("policy", ("version",), True),
    ("policy", ("admins",), ["admin", "admin"]),
]


@pytest.mark.parametrize(("name", "path", "value"), EDGE_CASES,
                         ids=[f"{n}:{'.'.join(map(str, p))}={v!r}" for n, p, v in EDGE_CASES])
def test_validators_agree_on_edge_cases(name: str, path: tuple[Any, ...], value: Any) -> None:
    base = VALID_TICKET if name == "ticket" else template(name)
    agree(name, _with(base, path, value))
