"""Ticket text and desk files are untrusted in every output.

- A desk's report template runs in jinja2's sandbox: it cannot run code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Gitdesk

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
