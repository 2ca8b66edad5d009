"""Test support: hostile text, and checks that an output keeps it inert.

Independent of gitdesk's own code: the decoder of the visible form and the
Markdown table reader here are written from the documented rules, so that the
tests check the implementation rather than repeat it.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata

from hypothesis import strategies as st

CONTROLS = [chr(c) for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))]
BIDI = [chr(c) for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
TRICKY = ["\x1b[31m", "\x1b]8;;http://evil.example/\x07link\x1b]8;;\x07", "\x1b]0;title\x07",
          "\x9b2J", "\r\n", "^[", "^^", "\\", "\\u202e", "⏎", "\u2028", "|", "[x](y)", "![i](z)",
          "<b>", "`", "*", "_", "#", "=", "+", "-", "@", "\t", "http://evil.example", "www.x.y",
          "&amp;", "$x$", ";", ",", '"', "'", "<br>", "\\|"]
PIECES = st.sampled_from([*CONTROLS, *BIDI, *TRICKY, "a", " ", "Z", "1", "é", "😀"])
TEXTS = st.one_of(st.text(min_size=1, max_size=40),
                  st.lists(PIECES, min_size=1, max_size=8).map("".join)
                  ).filter(lambda s: s.strip() != "")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def may_refuse(text: str) -> bool:
    """The desk may refuse text with control characters (see test_properties)."""
    return any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text)


# --- terminal ---------------------------------------------------------------------------------

def terminal_safe(text: str) -> None:
    """No control character, line separator or bidi control; only newlines break lines."""
    for ch in text:
        assert ch == "\n" or (unicodedata.category(ch) not in ("Cc", "Zl", "Zp")
                              and ch not in BIDI), f"{ch!r} reaches the terminal:\n{text!r}"


CARET = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_?"


def decode_visible(shown: str) -> str:
    """The text behind the visible form the README documents: ^X caret notation for
    C0 and DEL, \\uXXXX for C1, bidi controls and separators, ⏎ for a newline, and
    \\\\ and \\^ for a backslash or caret that would otherwise start one of these."""
    out, i = [], 0
    while i < len(shown):
        pair = shown[i:i + 2]
        if pair in ("\\\\", "\\^"):
            out.append(pair[1])
            i += 2
        elif re.match(r"\\u[0-9a-f]{4}", shown[i:i + 6]):
            out.append(chr(int(shown[i + 2:i + 6], 16)))
            i += 6
        elif len(pair) == 2 and pair[0] == "^" and pair[1] in CARET:
            out.append("\x7f" if pair[1] == "?" else chr(ord(pair[1]) - 0x40))
            i += 2
        else:
            out.append("\n" if shown[i] == "⏎" else shown[i])
            i += 1
    return "".join(out)


# --- CSV --------------------------------------------------------------------------------------

def safe_cells(text: str) -> list[list[str]]:
    """The rows of a CSV text; every cell is one a spreadsheet shows as text or as a
    (negative) number, never runs."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for row in rows:
        for value in row:
            assert not value.startswith(FORMULA_START) or \
                re.fullmatch(r"-(\d+(\.\d*)?|\.\d+)", value), f"formula cell {value!r}"
    return rows


# --- Markdown ---------------------------------------------------------------------------------

MARKDOWN_ACTIVE = set("|[]()!<>`*_~#&$")


def unescaped(text: str) -> list[tuple[int, str]]:
    """Markdown characters that no backslash escapes (the renderer's own <br> aside)."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith("<br>", i):
            i += 4
            continue
        if text[i] in MARKDOWN_ACTIVE:
            found.append((i, text[i]))
        i += 1
    return found


def table_rows(markdown: str, columns: int) -> list[list[str]]:
    """The body rows of the first table, split at unescaped |; each row must have
    exactly `columns` cells."""
    lines = markdown.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("|---"))
    rows = []
    for line in lines[start + 1:]:
        if not line.startswith("|"):
            break
        cells, current, i = [], "", 1
        while i < len(line):
            if line[i] == "\\":
                current += line[i:i + 2]
                i += 2
                continue
            if line[i] == "|":
                cells.append(current.strip())
                current = ""
            else:
                current += line[i]
            i += 1
        assert current.strip() == "", line
        assert len(cells) == columns, (columns, line)
        rows.append(cells)
    return rows


def assert_inert_markdown(cells: list[str]) -> None:
    """No link, image, HTML, code, emphasis or autolink can come out of these cells."""
    for value in cells:
        assert unescaped(value) == [], value
        assert "\n" not in value and "\r" not in value
        assert not re.search(r"(?i)[a-z0-9]://|(?<![\\a-z0-9])www\.", value), value
