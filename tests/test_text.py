"""domain.text over arbitrary text, fast: the visible form, CSV cells, Markdown cells,
mail headers (the command line tests are in test_output_safety)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gitdesk.domain.text import (
    NEWLINE_MARK,
    csv_cell,
    csv_text,
    header_text,
    inert_json,
    markdown_cell,
    one_line,
    unvisible,
    visible,
)
from gitdesk.reports import render
from gitdesk.reports.compute import Report, Section
from support.textcheck import (
    FORMULA_START,
    PIECES,
    TEXTS,
    assert_inert_markdown,
    decode_visible,
    safe_cells,
    table_rows,
    terminal_safe,
)

FAST = settings(max_examples=200, deadline=None, database=None)
ANY_TEXT = st.text() | st.lists(PIECES, max_size=12).map("".join)


@FAST
@given(text=ANY_TEXT)
@example(text="\\\u202e")
@example(text="^\x1b")
@example(text="\\^[")
@example(text="\\u202e")
@example(text="^\\u0041")
def test_the_visible_form_is_unambiguous_and_inert(text: str) -> None:
    shown = visible(text)
    assert decode_visible(shown) == text
    assert unvisible(shown) == text
    assert "\n" not in shown
    terminal_safe(shown)
    assert one_line(text) == shown


@FAST
@given(text=ANY_TEXT, width=st.integers(min_value=2, max_value=30))
def test_a_cut_line_is_cut_between_escapes(text: str, width: int) -> None:
    cut = one_line(text, width)
    terminal_safe(cut)
    if cut == visible(text):
        return
    assert cut.endswith("…") and len(cut) <= width
    assert visible(text).startswith(cut[:-1])
    assert text.startswith(decode_visible(cut[:-1]))


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[31mred", "^[[31mred"), ("bell\x07", "bell^G"), ("\x7f", "^?"), ("\x00", "^@"),
    ("a\nb", "a⏎b"), ("a\r\nb", "a^M⏎b"), ("\tx", "^Ix"), ("\x9b", "\\u009b"),
    ("\u202eabc", "\\u202eabc"), ("\u2066", "\\u2066"), ("\u2028", "\\u2028"),
    ("⏎", "\\u23ce"), ("2^10", "2^10"), ("^[", "\\^["), ("^^", "\\^^"), ("C:\\Users", "C:\\Users"),
    ("C:\\users", "C:\\\\users"), ("\\\\", "\\\\\\"), ("é 😀", "é 😀"),
])
def test_visible_forms(text: str, shown: str) -> None:
    assert visible(text) == shown


@FAST
@given(texts=st.lists(TEXTS, min_size=1, max_size=5))
@example(texts=["-5", "-0.5", "-5+1", "=1", "a;b", "'x", "\r\n", ""])
def test_csv_cells_read_back_as_the_text_behind_one_quote(texts: list[str]) -> None:
    """... with control characters shown as a terminal shows them, tab and line
    breaks kept."""
    rows = safe_cells(csv_text([texts, ["x"], [""]]))
    assert rows[1:] == [["x"], [""]]
    for value, text in zip(rows[0], texts, strict=True):
        assert value == csv_cell(text)
        shown = "".join(ch if ch in "\t\r\n" + NEWLINE_MARK else visible(ch) for ch in text)
        assert value == shown or (value == "'" + shown and shown.startswith(FORMULA_START))


@FAST
@given(texts=st.lists(TEXTS, min_size=1, max_size=5))
def test_csv_cells_with_a_separator_or_a_quote_are_quoted(texts: list[str]) -> None:
    out = csv_text([texts])
    for text in texts:
        cell = csv_cell(text)
        if any(ch in cell for ch in ',;"\r\n') or cell.startswith("'"):
            assert '"' + cell.replace('"', '""') + '"' in out
    assert list(csv.reader(io.StringIO(out, newline=""))) == [[csv_cell(t) for t in texts]]


@pytest.mark.parametrize(("value", "shown"), [
    (-5, "-5"), ("-5", "-5"), (-0.25, "-0.25"), ("-.5", "-.5"), ("-2+3", "'-2+3"),
    ("-", "'-"), ("-1e3", "'-1e3"), ("-inf", "'-inf"), (float("-inf"), "'-inf"),
    ("- 5", "'- 5"), ("5", "5"), ("", ""), ("'=x", "'=x"), ("@", "'@"), (" =1", " =1"),
    ("\t1", "'\t1"), ("\r1", "'\r1"), ("+5", "'+5"), (None, ""), (True, "yes"),
])
def test_csv_cell_keeps_negative_numbers_only(value: object, shown: str) -> None:
    assert csv_cell(value) == shown


@FAST
@given(cells=st.lists(TEXTS, min_size=1, max_size=4))
@example(cells=["a\\|b", "\\", "[a](b)", "<br>"])
@example(cells=["http://x.y", "www.x.y", "HTTPS://x", "a@b.c"])
def test_markdown_cells_keep_the_columns_and_are_inert(cells: list[str]) -> None:
    report = Report("detail", "Ticket detail", datetime(2026, 5, 6, tzinfo=UTC))
    report.sections.append(Section("Tickets", [f"c{i}" for i in range(len(cells))], [cells]))
    markdown = render.markdown(report)
    (row,) = table_rows(markdown, len(cells))
    assert_inert_markdown(row)
    assert row == [markdown_cell(c).strip() for c in cells]


@FAST
@given(text=ANY_TEXT)
def test_a_mail_header_is_one_line(text: str) -> None:
    header = header_text(text)
    assert header == header.strip()
    terminal_safe(header)
    assert "\n" not in header and "\r" not in header and "  " not in header


@FAST
@given(text=ANY_TEXT)
def test_json_stays_the_same_data(text: str) -> None:
    import json

    raw = inert_json(json.dumps({"t": text}, ensure_ascii=False))
    terminal_safe(raw)
    assert json.loads(raw) == {"t": text}
