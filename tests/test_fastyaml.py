"""The fast YAML reader (gitdesk.fastyaml) against the full round-trip parser.

fastyaml.loads(text) may decline (None) whenever it is unsure; when it answers, the
answer must be exactly what ruamel.yaml reads (plain(yamlio.load(text))),
because the index and the reports trust it in place of the full parser.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from gitdesk.domain.model import Link, Note, new_ticket, plain
from gitdesk.errors import GitdeskError
from gitdesk.yaml import reader as fastyaml
from gitdesk.yaml import roundtrip as yamlio

# Each example costs a dump and a full parse (~20 ms). Shrinking a failure is left out
# so that a failing run stays within seconds; the assertion shows the whole text.
SETTINGS = settings(max_examples=200, deadline=None, report_multiple_bugs=False,
                    phases=(Phase.explicit, Phase.reuse, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# Values that look like something other than a string to a YAML reader.
TRICKY = [
    "012", "08", "0", "-0", "+1", "1e3", "1E3", "1e+3", "-1e3", "1.5", "1.", ".5", "-.5", "+.5",
    "0x1F", "0o17", "0b1", "1_000", "_1", "12:30", "1:2:3", ".inf", "-.Inf", ".nan", "NaN",
    "true", "True", "TRUE", "false", "yes", "no", "on", "off", "y", "n", "null", "Null", "NULL",
    "~", "-", "--", "---", "...", "- x", "-x", ": x", ":x", "x:", "x: y", "?", "? x", "?x",
    "#x", "a #b", "a#b", "", " ", "  ", " lead", "trail ", " both ", "a\nb", "a\n\nb",
    "a\n  b", "line one\nline two\n", "\nstarts with newline", "x\nstatus: closed", "'", '"',
    "''", "'a'", '"a"', "\\", "\\n", "a\\tb", "[a]", "{a: 1}", "a, b", "a,b", "&x", "*x", "!x",
    "!!str x", "|", "|-", ">", "%x", "@x", "`x", "<<", "=", "é", "😀", "\u00a0", "\u2028", "\x85",
    "\ufeff", "\x7f", "\x1b[31m", "tab\there", "cr\rhere", "crlf\r\nhere", "2026-01-01",
    "2026-01-01T10:00:00Z",
]
PIECES = st.sampled_from(TRICKY) | st.text(
    st.sampled_from(list("aZ09 .-+_:#?!&*'\"{}[],|>\n\\eExX~")), max_size=4)
TEXTS = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=25),
    st.from_regex(r"[-+]?[0-9]{0,3}(\.[0-9]{0,2})?([eE][-+]?[0-9]{1,2})?", fullmatch=True),
    st.lists(PIECES, min_size=1, max_size=4).map("".join),
)
SCALARS = st.one_of(TEXTS, st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False))
KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def tickets(draw: st.DrawFn) -> bytes:
    """A ticket laid out by gitdesk's model and dumped by gitdesk's YAML writer."""
    fields: dict[str, Any] = {
        "id": "INC-7Q2K9XDM", "uid": "01JDXK6Q2K9XDMT3VY8A0B5C1E", "type": "incident",
        "summary": draw(TEXTS),
        "description": draw(st.none() | TEXTS),
        "status": draw(st.sampled_from(["new", "in-progress", "resolved"])),
        "priority": draw(st.sampled_from(["critical", "high", "medium", "low"])),
        "ci": draw(st.none() | TEXTS),
        "assignee": draw(st.none() | TEXTS),
        "created": "2026-11-25T16:21:00Z",
        "due": draw(st.none() | st.just("2026-11-25T17:21:00Z") | TEXTS),
        "solution": draw(st.none() | TEXTS),
        "links": yamlio.seq([Link(rel, tid).entry() for rel, tid in draw(
            st.lists(st.tuples(st.sampled_from(["caused-by", "related"]), TEXTS), max_size=2))]),
        "fields": yamlio.flow_map(draw(st.dictionaries(KEYS, SCALARS, max_size=4))),
        "notes": yamlio.seq([Note(at, by, text, internal).entry() for at, by, text, internal
                             in draw(st.lists(st.tuples(TEXTS, TEXTS, TEXTS, st.booleans()),
                                              max_size=3))]),
    }
    if draw(st.booleans()):
        fields["submitter"] = yamlio.flow_map({"name": draw(TEXTS), "email": draw(TEXTS)})
    if draw(st.booleans()):
        fields["cis"] = yamlio.seq(draw(st.lists(TEXTS, min_size=1, max_size=3)))
        fields["window"] = yamlio.flow_map({"start": draw(TEXTS), "end": draw(TEXTS)})
    if draw(st.booleans()):
        fields["risk_answers"] = yamlio.flow_map(draw(st.dictionaries(KEYS, st.booleans(),
                                                                      max_size=3)))
    ticket = new_ticket(fields, "tickets/incident/7Q/INC-7Q2K9XDM.yaml")
    if draw(st.booleans()):  # an edit after opening, as an action makes it
        ticket.set("resolution_code", draw(TEXTS))
        ticket.append("notes", Note("2026-11-26T00:00:00Z", "gary", draw(TEXTS)).entry())
    return yamlio.dump(ticket.data)


def full(text: str) -> Any:
    return plain(yamlio.load(text, "ticket.yaml"))


def readable(text: str) -> bool:
    return full_or_none(text) is not None


def full_or_none(text: str) -> Any:
    try:
        return full(text)
    except GitdeskError:
        return None


@pytest.mark.slow
@SETTINGS
@given(data=tickets())
@example(data=yamlio.dump(new_ticket({"id": "INC-1", "summary": "Mail down",
                                      "fields": yamlio.flow_map({}), "notes": yamlio.seq()},
                                     "x.yaml").data))
def test_fast_reader_answers_what_ruamel_reads(data: bytes) -> None:
    text = data.decode("utf-8")
    expected = full_or_none(text)
    # a value the writer cannot write readably is refused by the verifier before any
    # commit, so it never reaches a desk (test_dump_reads_back pins those)
    assume(expected is not None)
    fast = fastyaml.loads(text)
    if fast is not None:
        # same values and same types (1 == 1.0 == True in Python)
        assert _typed(fast) == _typed(expected), text


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


PLAIN_WORDS = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}( [A-Za-z0-9]{1,8}){0,4}", fullmatch=True)


@pytest.mark.slow
@settings(SETTINGS, max_examples=80)
@given(summary=PLAIN_WORDS, note=PLAIN_WORDS, ci=PLAIN_WORDS, minutes=st.integers(0, 10**6),
       description=st.lists(PLAIN_WORDS, min_size=2, max_size=4).map("\n".join))
def test_fast_reader_answers_for_ordinary_tickets(summary: str, note: str, ci: str,
                                                  minutes: int, description: str) -> None:
    """The fast path is really taken for everyday tickets (else it would be pointless)."""
    ticket = new_ticket({
        "id": "INC-7Q2K9XDM", "type": "incident", "summary": summary,
        "description": description, "status": "new", "ci": ci,
        "submitter": yamlio.flow_map({"name": "Hans", "email": "hans@example.org"}),
        "created": "2026-11-25T16:21:00Z",
        "links": yamlio.seq([Link("caused-by", "PRB-3MZ81KQA").entry()]),
        "fields": yamlio.flow_map({"outage_minutes": minutes, "affected_users": "one"}),
        "notes": yamlio.seq([Note("2026-11-25T16:40:00Z", "gary", note).entry()]),
    }, "x.yaml")
    text = yamlio.dump(ticket.data).decode()
    fast = fastyaml.loads(text)
    assert fast is not None, text
    assert fast == full(text) == ticket.plain()


# Numbers-looking plain scalars: ruamel.yaml (YAML 1.2) reads these as strings, so the
# writer leaves them unquoted; a reader that makes numbers of them changes the data.
@pytest.mark.parametrize("value", [".5e3", "-.5E3", "1e3", ".5e+3"])
def test_plain_strings_that_only_look_like_floats(value: str) -> None:
    ticket = new_ticket({"id": "INC-1", "summary": value,
                         "fields": yamlio.flow_map({"vendor_case": value}),
                         "notes": yamlio.seq([Note("2026-01-01T00:00:00Z", "x", value)
                                              .entry()])}, "x.yaml")
    text = yamlio.dump(ticket.data).decode()
    expected = full(text)
    assert expected["summary"] == value  # what gitdesk wrote is a string
    fast = fastyaml.loads(text)
    assert fast is None or fast == expected, f"{value!r}: fast reader says {fast!r}"


@pytest.mark.parametrize(("where", "value"), [("summary", "a\u2028b"), ("note", "line\u2029"),
                                              ("custom field", "é\u2028"),
                                              ("summary", "a\\u2028b")])
def test_unicode_line_separators_in_quoted_text(where: str, value: str) -> None:
    """ruamel writes U+2028/U+2029 inside single quotes as a line break plus indentation,
    and reads the indentation back as folding: the fast reader must not read it as text."""
    values: dict[str, Any] = {"id": "INC-1", "summary": "x", "fields": yamlio.flow_map({}),
                              "notes": yamlio.seq()}
    if where == "summary":
        values["summary"] = value
    elif where == "note":
        values["notes"] = yamlio.seq([Note("2026-01-01T00:00:00Z", "x", value).entry()])
    else:
        values["fields"] = yamlio.flow_map({"vendor_case": value})
    text = yamlio.dump(new_ticket(values, "x.yaml").data).decode()
    expected = full(text)
    fast = fastyaml.loads(text)
    assert fast is None or fast == expected, f"{text!r}: fast reader says {fast!r}"


DECLINED = {
    "comment line": "# a comment\nid: INC-1\nsummary: x\n",
    "trailing comment": "id: INC-1\nsummary: x # not part of it\n",
    "comment in a flow map": "id: INC-1\nfields: {a: 1} # c\n",
    "anchor and alias": "id: INC-1\nsummary: &s x\nci: *s\n",
    "anchor on a map": "id: INC-1\nfields: &f {a: 1}\nmore: *f\n",
    "merge key": "base: &b {a: 1}\nfields: {<<: *b}\n",
    "tag": "id: INC-1\nsummary: !!str 123\n",
    "local tag": "id: INC-1\nsummary: !mine x\n",
    "tag in flow": "id: INC-1\nfields: {a: !!int '1'}\n",
    "nested block map": "id: INC-1\nsubmitter:\n  name: Hans\n  email: hans@example.org\n",
    "block map in a sequence": "id: INC-1\nnotes:\n  - at: x\n    by: y\n",
    "deeper nested block map": "id: INC-1\nfields:\n  a:\n    b: 1\n",
    "document start": "---\nid: INC-1\n",
    "document end": "id: INC-1\n...\n",
    "directive": "%YAML 1.2\n---\nid: INC-1\n",
    "folded block": "id: INC-1\ndescription: >\n  a\n  b\n",
    "kept literal": "id: INC-1\ndescription: |+\n  a\n\n",
    "clipped literal": "id: INC-1\ndescription: |\n  a\n",
    "indented literal": "id: INC-1\ndescription: |2-\n   a\n  b\n",
    "multi-line flow map": "id: INC-1\nfields: {a: 1,\n  b: 2}\n",
    "multi-line plain": "id: INC-1\nsummary: a\n  b\n",
    "multi-line single quoted": "id: INC-1\nsummary: 'a\n\n  b'\n",
    "multi-line double quoted": "id: INC-1\nsummary: \"a\n  b\"\n",
    "explicit key": "? id\n: INC-1\n",
    "quoted key": "\"id\": INC-1\n",
    "duplicate key": "id: INC-1\nid: INC-2\n",
    "duplicate key in flow": "id: INC-1\nfields: {a: 1, a: 2}\n",
    "tab indentation": "id: INC-1\nnotes:\n\t- x\n",
    "crlf line ends": "id: INC-1\r\nsummary: x\r\n",
    "sexagesimal": "id: INC-1\nsummary: 1:30\n",
    "octal": "id: INC-1\nsummary: 0o17\n",
    "leading zero": "id: INC-1\nsummary: 017\n",
    "hex": "id: INC-1\nsummary: 0x1F\n",
    "infinity": "id: INC-1\nsummary: .inf\n",
    "not a mapping": "- a\n- b\n",
    "scalar document": "just text\n",
    "unknown escape": "id: INC-1\nsummary: \"\\q\"\n",
    "flow sequence of block maps": "id: INC-1\nlinks:\n  - rel: x\n",
    "plain scalar starting with '- '": "id: INC-1\nsummary: - x\n",
    "key with a space": "id: INC-1\nmy key: x\n",
    "question mark in flow (invalid YAML)": "id: INC-1\nfields: {v: ?x}\n",
}


@pytest.mark.parametrize("text", DECLINED.values(), ids=DECLINED.keys())
def test_fast_reader_declines_what_is_not_gitdesk_layout(text: str) -> None:
    assert fastyaml.loads(text) is None


AGREES = {
    "gitdesk layout": "id: INC-1\nsummary: Web down\nstatus: new\nlinks: []\nfields: {}\n"
                      "notes:\n  - {at: 2026-11-25T16:40:00Z, by: gary, text: ok, "
                      "internal: false}\n",
    "quoted": "id: INC-1\nsummary: 'it''s 012'\nci: \"a\\tb\\u00e9\\x41\"\n",
    "typed flow": "fields: {a: 1, b: -2.5, c: true, d: null, e: ~, f: '1', g: x y}\n",
    "literal": "description: |-\n  one\n    two\n\n  three\n",
    "empty value": "due:\nci: x\n",
    "nested flow": "window: {start: a, end: b}\nrisk: {answers: [1, 2, {x: y}]}\n",
}


@pytest.mark.parametrize("text", AGREES.values(), ids=AGREES.keys())
def test_fast_reader_answers_gitdesk_layout_exactly(text: str) -> None:
    fast = fastyaml.loads(text)
    assert fast is not None
    assert _typed(fast) == _typed(full(text))


@pytest.mark.parametrize(("where", "text"), [("note", "?x"), ("custom field", "? x"),
                                             ("submitter", "?x"), ("note", "?"),
                                             ("summary", "?x")])
def test_dump_reads_back(where: str, text: str) -> None:
    """What gitdesk's YAML writer writes, its reader reads back unchanged (else a note
    or a custom field with this text cannot be saved: the verifier refuses the file)."""
    values: dict[str, Any] = {"id": "INC-1", "summary": "x", "fields": yamlio.flow_map({}),
                              "notes": yamlio.seq()}
    if where == "note":
        values["notes"] = yamlio.seq([Note("2026-01-01T00:00:00Z", "x", text).entry()])
    elif where == "custom field":
        values["fields"] = yamlio.flow_map({"vendor_case": text})
    elif where == "submitter":
        values["submitter"] = yamlio.flow_map({"name": text})
    else:
        values["summary"] = text
    ticket = new_ticket(values, "x.yaml")
    dumped = yamlio.dump(ticket.data).decode()
    assert readable(dumped), dumped
    assert full(dumped) == ticket.plain()


@pytest.mark.slow
@settings(SETTINGS, max_examples=60)
@given(versions=st.lists(tickets(), min_size=2, max_size=5))
def test_shared_reader_answers_what_the_reader_answers(versions: list[bytes]) -> None:
    """loads_shared (the index's reader: lines seen in earlier documents are looked
    up, not parsed) answers exactly what loads answers, document by document."""
    memo = fastyaml.Memo()
    for data in versions * 2:  # the second round reads every line from the memo
        text = data.decode("utf-8")
        plain = fastyaml.loads(text)
        shared = fastyaml.loads_shared(text, memo)
        assert (None if shared is None else _typed(shared)) == \
            (None if plain is None else _typed(plain)), text


SHARED = [
    # the same text as a top-level line, a flow-mapping item and a sequence item
    ["a: x\nfields: {a: x, b: 1}\nnotes:\n  - a: x\n", "fields: {a: x}\na: x\n"],
    # one item changes: only it is parsed again; a duplicate key is still refused
    ["fields: {n: 1, m: 2}\n", "fields: {n: 1, m: 3}\n", "fields: {n: 1, n: 1}\n"],
    # items that cannot be split at ", " alone go to the full flow parser
    ["fields: {a: 'x, y', b: [1, 2]}\n", "fields: {a: 'x, y', b: [1, 3]}\n"],
    # a line that is fine alone but not in this document
    ["id: INC-1\n", "id: INC-1\nid: INC-1\n", "id: INC-1\n  - x\n"],
]


@pytest.mark.parametrize("texts", SHARED)
def test_shared_reader_in_context(texts: list[str]) -> None:
    memo = fastyaml.Memo()
    for text in texts:
        plain = fastyaml.loads(text)
        shared = fastyaml.loads_shared(text, memo)
        assert (None if shared is None else _typed(shared)) == \
            (None if plain is None else _typed(plain)), text


def test_shared_reader_forgets_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastyaml.Memo, "LIMIT", 3)
    memo = fastyaml.Memo()
    for n in range(10):
        assert fastyaml.loads_shared(f"a{n}: {n}\nb: x\n", memo) == {f"a{n}": n, "b": "x"}
        assert len(memo.entries) <= 4
