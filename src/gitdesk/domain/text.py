"""How a ticket's values read as text: one table cell, one line, a terminal, a spreadsheet,
a Markdown table, a mail header.

Ticket text is whatever someone typed or committed, so every output that is not
an exact data format (JSON, YAML) passes it through one of these functions:

- `visible`: for a terminal. Control characters cannot reach the terminal as
  such: ESC is `^[`, the other C0 controls and DEL are caret notation (`^G`,
  `^?`), C1 controls, bidi overrides and Unicode line separators are
  `\\u202e`-style escapes, and a newline inside a one-line field is `⏎`. The
  form is unambiguous: a literal `^` or `\\` that would read as the start of
  such an escape is itself escaped (`\\^`, `\\\\`), so `unvisible` gives the
  text back.
- `inert_json`: JSON stays exact data, with those characters as JSON escapes.
- `csv_cell`: OWASP's CSV-injection rule, for every CSV the tool writes; control
  characters other than tab and line breaks are shown as `visible` shows them.
- `markdown_cell`: text that cannot break a Markdown table or add a link,
  an image, HTML or emphasis.
- `header_text`: one line for a mail header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

NEWLINE_MARK = "⏎"
# Bidi_Control characters: they reorder what a terminal (or a mail client) shows.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
_CARET_NEXT = frozenset("@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_?")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if set(value) <= {"name", "email"} and "name" in value:
            return str(value["name"]) + (f" <{value['email']}>" if value.get("email") else "")
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    return str(value)


# --- the terminal -----------------------------------------------------------------------------

def _special(ch: str) -> str | None:
    """The visible form of a character a terminal must not receive, or None."""
    code = ord(ch)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    if 0x80 <= code < 0xA0 or ch in BIDI_CONTROLS or ch in "\u2028\u2029" \
            or ch == NEWLINE_MARK:
        return f"\\u{code:04x}"
    return None


def _tokens(text: str) -> list[str]:
    """The visible pieces of text, one per character (a literal ^ or \\ is settled
    against the piece that follows it)."""
    pieces = [NEWLINE_MARK if ch == "\n" else _special(ch) or ch for ch in text]
    for i in range(len(pieces) - 2, -1, -1):
        after = pieces[i + 1][0]
        if pieces[i] == "^" and after in _CARET_NEXT:
            pieces[i] = "\\^"
        elif pieces[i] == "\\" and after in "\\^u":
            pieces[i] = "\\\\"
    return pieces


def visible(text: str) -> str:
    """Text with every control character shown, never sent (see the module's
    docstring)."""
    return "".join(_tokens(text))


def unvisible(shown: str) -> str:
    """The text `visible` was given (newlines shown as ⏎)."""
    out, i = [], 0
    while i < len(shown):
        ch = shown[i]
        nxt = shown[i + 1] if i + 1 < len(shown) else ""
        if ch == "\\" and nxt in ("\\", "^"):
            out.append(nxt)
            i += 2
        elif ch == "\\" and nxt == "u" and re.fullmatch(r"[0-9a-f]{4}", shown[i + 2:i + 6]):
            out.append(chr(int(shown[i + 2:i + 6], 16)))
            i += 6
        elif ch == "^" and nxt in _CARET_NEXT:
            out.append("\x7f" if nxt == "?" else chr(ord(nxt) - 0x40))
            i += 2
        else:
            out.append("\n" if ch == NEWLINE_MARK else ch)
            i += 1
    return "".join(out)


def one_line(value: Any, width: int | None = None) -> str:
    """A value as one visible line (a newline shows as ⏎), cut to `width` characters."""
    pieces = _tokens(cell(value))
    if width is None or sum(len(p) for p in pieces) <= width:
        return "".join(pieces)
    out, used = [], 0
    for piece in pieces:
        if used + len(piece) > width - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + "…"


def lines(value: Any) -> list[str]:
    """Text of several lines, each visible (line breaks are only the newlines)."""
    return [visible(line) for line in cell(value).split("\n")]


_JSON_ESCAPED = re.compile("[\x7f-\x9f\u2028\u2029" + "".join(sorted(BIDI_CONTROLS)) + "]")


def inert_json(text: str) -> str:
    """JSON text (written with ensure_ascii=False) with DEL, the C1 controls, bidi
    controls and line separators as \\u escapes: the same data, nothing a terminal
    acts on. (json escapes the C0 controls itself; these characters can only be
    inside its strings.)"""
    return _JSON_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# --- spreadsheets -----------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-(?:\d+(?:\.\d*)?|\.\d+)")


_CSV_SHOWN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029"
                        + "".join(sorted(BIDI_CONTROLS)) + "]")


def csv_cell(value: Any) -> str:
    """A value for a CSV cell that a spreadsheet shows and never runs (OWASP's rule):
    text that starts with = + - @ tab or carriage return gets a leading '. A
    negative number (-5, -0.25) is kept: a spreadsheet reads it as that number,
    and without letters, parentheses or operators after the sign it can call
    nothing. Control characters other than tab and line breaks (ESC, BEL, C1,
    bidi controls) are shown as `visible` shows them: CSV has no escape for them,
    and a CSV printed on a terminal must not drive it."""
    text = _CSV_SHOWN.sub(lambda m: _special(m.group()) or "", cell(value))
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV (CRLF line ends, RFC 4180 quoting), every cell through csv_cell.
    A cell is quoted when it holds a comma, a semicolon (the separator spreadsheets
    use in many locales, which would split it there), a quote or a line break, or
    when csv_cell neutralised it."""
    out = []
    for row in rows:
        cells = [_quoted(csv_cell(value)) for value in row]
        if len(cells) == 1 and cells[0] == "":
            cells = ['""']  # a row of one empty cell, not an empty line
        out.append(",".join(cells) + "\r\n")
    return "".join(out)


def _quoted(text: str) -> str:
    if text.startswith("'") or any(ch in text for ch in ',;"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


# --- Markdown ---------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\|`*_~\[\]()!<>&#$])")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<![a-z0-9])(www)(\.)")


def markdown_cell(value: Any) -> str:
    """Text for a cell of a Markdown table (GitHub's flavour): it keeps the table's
    columns (| is escaped, line breaks become <br>), and adds no link, image,
    autolink, HTML, code or emphasis (their characters are backslash-escaped,
    and URLs and www. lose the shape GitHub would make a link of). Control
    characters are shown as `visible` shows them."""
    return "<br>".join(_markdown_line(line) for line in re.split(r"\r\n|\r|\n", cell(value)))


def _markdown_line(line: str) -> str:
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", visible(line))
    return _AUTOLINK.sub(lambda m: "\\:" if m.group(1) else "www\\.", text)


# --- mail -------------------------------------------------------------------------------------

_FOLD = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(value: Any) -> str:
    """One line for a mail header: line breaks, other whitespace and control
    characters fold to one space; bidi controls are shown as escapes (they would
    reorder what a mail client shows)."""
    folded = " ".join(_FOLD.split(cell(value))).strip()
    return "".join(f"\\u{ord(ch):04x}" if ch in BIDI_CONTROLS else ch for ch in folded)
