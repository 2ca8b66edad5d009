"""HTML reports: one self-contained file, SVG charts inline, ticket text escaped, a
per-desk template override, and what a real browser (headless Chromium) draws."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from support.cli import Gitdesk
from support.git import at

AS_OF = "2026-09-01T12:00:00Z"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
QUOTES = "Tom & Jerry's \"quote\""
QUOTES_ESCAPED = "Tom &amp; Jerry&#39;s &#34;quote&#34;"
NAMES = ("summary", "aging", "resolution", "past-due", "detail", "sla", "changes", "weekly")
CHARTS = {"summary": 1, "aging": 1, "resolution": 1, "past-due": 1, "detail": 0, "sla": 2,
          "changes": 1, "weekly": 1}
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "div",
                "table", "thead", "tbody", "tr", "th", "td", "footer", "ul", "li", "svg",
                "line", "rect", "text"}
BLUE, RED = (0x33, 0x66, 0xCC), (0xDC, 0x39, 0x12)  # the first two series colours


@pytest.fixture
def hostile(desk: Gitdesk) -> Gitdesk:
    """Tickets of several ages, open and closed, whose text is markup."""
    xss = desk.ok("open", "incident", "-s", XSS, "--ci", "<b>web01</b>", "--assignee", "test",
                  "--impact", "high", "--urgency", "high", "--field", f"vendor_case={XSS}",
                  env=at("2026-08-20T12:00:00Z")).strip()
    desk.ok("note", xss, "-m", XSS, env=at("2026-08-20T13:00:00Z"))
    quoted = desk.ok("open", "incident", "-s", QUOTES, env=at("2026-05-01T12:00:00Z")).strip()
    desk.ok("resolve", quoted, "--code", "fixed", "-m", QUOTES, env=at("2026-05-03T12:00:00Z"))
    for when in ("2026-07-10T12:00:00Z", "2026-08-25T12:00:00Z"):
        tid = desk.ok("open", "incident", "-s", "Printer jam", env=at(when)).strip()
        desk.ok("resolve", tid, "--code", "fixed", "-m", "Cleared", env=at(when[:11] + "18:00:00Z"))
    desk.ok("open", "incident", "-s", "Old open one", "--priority", "low",
            env=at("2026-06-01T12:00:00Z"))
    desk.ok("open", "change", "-s", XSS, "--cis", "<i>sw01</i>,db01", "--window",
            "2026-09-10T22:00:00Z/1h", "--risk", "low", env=at("2026-08-30T12:00:00Z"))
    return desk


def html_of(desk: Gitdesk, name: str, *args: str) -> str:
    return desk.ok("report", name, "--as-of", AS_OF, *args, "--format", "html")


def test_html_is_one_self_contained_file(hostile: Gitdesk) -> None:
    for name in NAMES:
        html = html_of(hostile, name)
        assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>"), name
        lowered = html.lower()
        # nothing fetched: only these elements, and none with an attribute that loads
        # something or runs code (ticket text is escaped, so every "<" opens a real tag)
        tags = re.findall(r"<([a-z][\w:-]*)([^>]*)>", lowered)
        assert {tag for tag, _ in tags} <= ALLOWED_TAGS, (name, {t for t, _ in tags})
        for tag, attributes in tags:
            assert not re.search(r"(?:^|\s)(?:src|href|srcset|action|xlink:href|on\w+)\s*=",
                                 attributes), (name, tag, attributes)
        style = "".join(re.findall(r"<style>(.*?)</style>", lowered, re.S))
        assert "@import" not in style and "url(" not in style, name
        # the only URL is the SVG namespace name (an identifier, never fetched)
        urls = set(re.findall(r"[a-z][a-z0-9+.-]*://[^\s\"'<>)]*", lowered))
        assert urls <= {"http://www.w3.org/2000/svg"}, (name, urls)
        # charts are inline SVG with their bars
        svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
        assert len(svgs) == CHARTS[name], name
        for svg in svgs:
            assert 'xmlns="http://www.w3.org/2000/svg"' in svg
            assert "<rect" in svg and "<title>" in svg
        assert "<style>" in html  # styles are inline too


def test_ticket_text_is_escaped(hostile: Gitdesk) -> None:
    pages = {
        "detail": html_of(hostile, "detail", "--field", "vendor_case"),
        "past-due": html_of(hostile, "past-due"),
        "sla": html_of(hostile, "sla"),
        "changes": html_of(hostile, "changes"),
    }
    for name, html in pages.items():
        assert XSS not in html, name
        assert "<script" not in html.lower() and "<img" not in html.lower(), name
        assert "<b>" not in html and "<i>" not in html, name
    detail = pages["detail"]
    # the incident's summary and custom field, the change's summary: each as text
    assert detail.count(f"<td>{XSS_ESCAPED}</td>") == 3
    assert f"<td>{QUOTES_ESCAPED}</td>" in detail
    assert "<td>&lt;b&gt;web01&lt;/b&gt;</td>" in detail
    assert f"<td>{XSS_ESCAPED}</td>" in pages["past-due"]
    assert f"<td>{XSS_ESCAPED}</td>" in pages["sla"]
    # in the upcoming schedule, and a CI's markup in the SVG chart's labels
    assert f"<td>{XSS_ESCAPED}</td>" in pages["changes"]
    svg = re.search(r"<svg\b.*?</svg>", pages["changes"], re.S)
    assert svg is not None and "&lt;i&gt;sw01&lt;/i&gt;" in svg.group(0)
    # the other formats carry the text as it is (they are not HTML)
    assert XSS in hostile.ok("report", "detail", "--as-of", AS_OF, "--format", "csv")


TEMPLATE = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body class="our-desk">
<h1>OUR DESK: {{ title }} ({{ as_of }})</h1>
{% for section in sections %}<section><h2>{{ section.title }}</h2>
{% for row in section.rows %}<p class="row">{{ row | join(" / ") }}</p>
{% endfor %}</section>
{% endfor %}
</body></html>
"""


def test_per_desk_template_override(hostile: Gitdesk) -> None:
    default = html_of(hostile, "detail")
    override = hostile.path / ".gitdesk" / "templates" / "report.html"
    override.parent.mkdir()
    override.write_text(TEMPLATE)
    # not committed yet: the desk is what is committed
    assert html_of(hostile, "detail") == default
    hostile.git("add", ".gitdesk/templates/report.html")
    hostile.git("commit", "-q", "-m", "Our report template")
    html = html_of(hostile, "detail")
    assert html != default
    assert '<body class="our-desk">' in html
    assert f"<h1>OUR DESK: Ticket detail ({AS_OF})</h1>" in html
    rows = re.findall(r'<p class="row">(.*?)</p>', html)
    assert len(rows) == 6  # the six tickets
    # ticket text is still escaped inside the desk's own template
    assert XSS not in html and "<script" not in html.lower()
    assert any(row.startswith(("INC-", "CHG-")) and XSS_ESCAPED in row for row in rows)
    # only HTML uses it
    assert "OUR DESK" not in hostile.ok("report", "detail", "--as-of", AS_OF)
    # removing it (committed) brings the packaged template back
    hostile.git("rm", "-q", ".gitdesk/templates/report.html")
    hostile.git("commit", "-q", "-m", "Back to the packaged template")
    assert html_of(hostile, "detail") == default


# --- a real browser --------------------------------------------------------------------------

def decode_png(data: bytes) -> tuple[int, int, bytes, int]:
    """(width, height, pixel bytes, bytes per pixel) of an 8-bit RGB(A) PNG, stdlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, chunks = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color, _method, _filter, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1])
    assert depth == 8 and color in (2, 6) and interlace == 0, chunks[0][1]
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * bpp
    assert len(raw) == height * (stride + 1)
    low = int.from_bytes(b"\x7f" * stride, "big")
    high = int.from_bytes(b"\x80" * stride, "big")
    prev, rows = bytes(stride), []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        if kind == 0:
            cur = line
        elif kind == 2:  # Up: bytewise addition, all bytes at once
            x, p = int.from_bytes(line, "big"), int.from_bytes(prev, "big")
            cur = (((x & low) + (p & low)) ^ ((x ^ p) & high)).to_bytes(stride, "big")
        else:
            cur = bytes(_unfilter(kind, bytearray(line), prev, bpp))
        rows.append(cur)
        prev = cur
    return width, height, b"".join(rows), bpp


def _unfilter(kind: int, cur: bytearray, prev: bytes, bpp: int) -> bytearray:
    if kind == 1:  # Sub
        for i in range(bpp, len(cur)):
            cur[i] = (cur[i] + cur[i - bpp]) & 255
    elif kind == 3:  # Average
        for i in range(len(cur)):
            left = cur[i - bpp] if i >= bpp else 0
            cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 255
    elif kind == 4:  # Paeth
        for i in range(len(cur)):
            a = cur[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    else:
        raise AssertionError(f"unknown PNG filter {kind}")
    return cur


@pytest.mark.slow
def test_browser_renders_the_report(hostile: Gitdesk, tmp_path: Path) -> None:
    """Headless Chromium draws the report: a 1200x1600 screenshot with text, tables and
    both bar colours of the chart. Chromium is required (.ci/run installs it): without it
    this fails, under CI and locally."""
    chromium = shutil.which("chromium") or ("/usr/bin/chromium"
                                            if os.path.exists("/usr/bin/chromium") else None)
    ci = os.environ.get("CI", "")
    assert chromium, f"chromium is not installed (CI={ci!r}): .ci/run installs it"
    home = tmp_path / "chromium-home"  # keep the browser's files out of the test's HOME
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}

    def browse(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", *args],
            env=env, capture_output=True, text=True, timeout=120, check=False)

    page = tmp_path / "aging.html"
    hostile.ok("report", "aging", "--as-of", AS_OF, "--format", "html", "-o", str(page))
    shot = tmp_path / "aging.png"
    proc = browse(f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri())
    assert shot.exists(), f"no screenshot (exit {proc.returncode}):\n{proc.stderr[-3000:]}"

    # the browser's own parse of the detail page: the hostile text is text, not elements
    detail = tmp_path / "detail.html"
    hostile.ok("report", "detail", "--as-of", AS_OF, "--format", "html", "-o", str(detail))
    dom = browse("--dump-dom", detail.as_uri()).stdout
    assert "<table>" in dom and dom.count("<tr>") == 7  # header and six tickets
    assert "<script" not in dom.lower() and "<img" not in dom.lower() and "<b>" not in dom
    assert dom.count(XSS_ESCAPED) == 2

    width, height, pixels, bpp = decode_png(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    red, green, blue = pixels[0::bpp], pixels[1::bpp], pixels[2::bpp]
    count = width * height
    all_white = (int.from_bytes(red, "big") & int.from_bytes(green, "big")
                 & int.from_bytes(blue, "big")).to_bytes(count, "big").count(b"\xff")
    inked = 1 - all_white / count
    colours = Counter(zip(red, green, blue, strict=True))
    assert 0.005 < inked < 0.5, f"{inked:.3%} of the page is not white"
    assert len(colours) > 32, f"only {len(colours)} colours: blank or broken page"
    # the chart's bars in both series colours (closed: blue, open: red), each a solid block
    assert colours[BLUE] > 1000, colours.most_common(5)
    assert colours[RED] > 1000, colours.most_common(5)
    # dark text (headings, table cells) and the table header's grey background
    assert sum(n for rgb, n in colours.items() if max(rgb) < 90) > 2000
    assert colours[(0xF5, 0xF5, 0xF5)] > 1000
    # the upper part holds the content, the bottom of a short report stays empty
    top = pixels[:bpp * width * 700]
    bottom = pixels[bpp * width * 1400:]
    assert top.count(b"\xff") < len(top) and bottom.count(b"\xff") == len(bottom)
