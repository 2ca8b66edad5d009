"""Rendering reports as text, Markdown, HTML (with SVG charts), CSV and JSON.

Ticket text is untrusted in every format: the text form shows control
characters visibly, Markdown escapes what would make a link, an image, HTML or
a new column, CSV cells are neutralised for spreadsheets, JSON is exact data
with terminal-active characters escaped, and HTML is autoescaped by a jinja2
sandbox (a desk's own template is committed text, not code to trust).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gitdesk.domain.text import cell, inert_json, markdown_cell, one_line
from gitdesk.domain.text import csv_text as csv_rows
from gitdesk.reports import render_template
from gitdesk.reports.compute import Chart, Report, Section

FORMATS = ("text", "markdown", "html", "csv", "json")
PALETTE = ("#3366cc", "#dc3912", "#ff9900", "#109618", "#990099")


def _cells(section: Section) -> list[list[str]]:
    return [[cell(value) for value in row] for row in section.rows]


def _stamp(report: Report) -> str:
    return report.as_of.strftime("%Y-%m-%dT%H:%M:%SZ")


def text(report: Report) -> str:
    from tabulate import tabulate

    out = [f"{one_line(report.title)} — as of {_stamp(report)}", ""]
    for section in report.sections:
        out.append(one_line(section.title))
        if section.rows:
            rows = [[one_line(value) for value in row] for row in section.rows]
            out.append(tabulate(rows, headers=[one_line(c) for c in section.columns],
                                tablefmt="simple", disable_numparse=True))
        else:
            out.append("  (none)")
        out.append("")
    return "\n".join(out)


def markdown(report: Report) -> str:
    esc = markdown_cell
    out = [f"## {esc(report.title)}", "", f"As of {_stamp(report)}.", ""]
    for section in report.sections:
        out += [f"### {esc(section.title)}", ""]
        if not section.rows:
            out += ["(none)", ""]
            continue
        out.append("| " + " | ".join(esc(c) for c in section.columns) + " |")
        out.append("|" + "|".join("---" for _ in section.columns) + "|")
        out += ["| " + " | ".join(esc(v) for v in row) + " |" for row in _cells(section)]
        out.append("")
    if report.definitions:
        out += ["<details><summary>Definitions</summary>", ""]
        out += [f"- {esc(d)}" for d in report.definitions]
        out += ["", "</details>", ""]
    return "\n".join(out)


def csv_text(report: Report) -> str:
    rows: list[list[Any]] = []
    for i, section in enumerate(report.sections):
        if i:
            rows.append([])
        if len(report.sections) > 1:
            rows.append([section.title])
        rows.append(list(section.columns))
        rows += section.rows
    return csv_rows(rows)


def json_text(report: Report) -> str:
    data: dict[str, Any] = {
        "report": report.name, "title": report.title, "as_of": _stamp(report),
        "sections": [{"title": s.title, "columns": s.columns, "rows": s.records()}
                     for s in report.sections],
        "definitions": report.definitions}
    return inert_json(json.dumps(data, indent=2, ensure_ascii=False, default=str)) + "\n"


def svg_bars(chart: Chart, *, width: int = 640, height: int = 260) -> str:
    """A grouped bar chart as inline SVG; text is escaped by the caller's template."""
    from markupsafe import escape

    labels, series = chart.labels, list(chart.series.items())
    if not labels or not series:
        return ""
    top = max([max(values, default=0) for _, values in series] + [1])
    left, bottom, plot_h = 40, 50, height - 80
    plot_w = width - left - 10
    group_w = plot_w / len(labels)
    bar_w = max(2.0, group_w * 0.8 / len(series))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(chart.title)}">',
             f'<title>{escape(chart.title)}</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" '
             f'y2="{height - bottom}" stroke="#999"/>']
    for tick in range(5):
        value = top * tick / 4
        y = height - bottom - plot_h * tick / 4
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                     f'{value:g}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for j, (_name, values) in enumerate(series):
            value = values[i] if i < len(values) else 0
            h = plot_h * value / top
            parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{height - bottom - h:.1f}" '
                         f'width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)}: '
                         f'{value:g}</title></rect>')
        parts.append(f'<text x="{left + (i + 0.5) * group_w:.1f}" y="{height - bottom + 14}" '
                     f'font-size="10" text-anchor="middle">{escape(label[:18])}</text>')
    for j, (name, _values) in enumerate(series):
        x = left + j * 120
        parts.append(f'<rect x="{x}" y="{height - 18}" width="10" height="10" '
                     f'fill="{PALETTE[j % len(PALETTE)]}"/><text x="{x + 14}" '
                     f'y="{height - 9}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Template:
    """A template's source and the file it came from (named in every error)."""

    path: str
    source: str


def html(report: Report, *, overrides: dict[str, Template] | None = None) -> str:
    from markupsafe import Markup

    sections = [{"title": s.title, "columns": s.columns, "rows": _cells(s), "note": s.note,
                 "chart": Markup(svg_bars(s.chart)) if s.chart else None}
                for s in report.sections]
    given = {name: (t.path, t.source) for name, t in (overrides or {}).items()}
    return render_template("report.html", overrides=given, title=report.title,
                           as_of=_stamp(report), sections=sections,
                           definitions=report.definitions)


def render(report: Report, fmt: str, *, overrides: dict[str, Template] | None = None) -> str:
    if fmt == "text":
        return text(report)
    if fmt == "markdown":
        return markdown(report)
    if fmt == "csv":
        return csv_text(report)
    if fmt == "json":
        return json_text(report)
    return html(report, overrides=overrides)
