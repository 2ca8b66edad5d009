"""Human views of tickets: the `show` text form and list columns.

Everything in the text form goes through domain.text (one_line for one-line
fields, lines for text of several lines), so ticket text cannot send control
characters to the terminal or pass a line of its own off as another field."""

from __future__ import annotations

from typing import Any

from gitdesk.domain.text import lines as text_lines
from gitdesk.domain.text import one_line
from gitdesk.domain.where import lookup

LIST_COLUMNS = ("id", "status", "priority", "assignee", "group", "ci", "summary")
HEADER_FIELDS = (
    ("type", "type"), ("status", "status"), ("priority", "priority"), ("impact", "impact"),
    ("urgency", "urgency"), ("severity", "severity"), ("major", "major incident"),
    ("request_type", "request type"), ("change_type", "change type"), ("risk", "risk"),
    ("category", "category"), ("subcategory", "subcategory"), ("ci", "CI"), ("cis", "CIs"),
    ("services", "services"), ("assignee", "assignee"), ("group", "group"),
    ("submitter", "submitter"), ("created", "created"), ("due", "due"),
    ("pending_reason", "pending reason"), ("resolution_code", "resolution code"),
    ("known_error", "known error"),
)
TEXT_FIELDS = (
    ("description", "Description"), ("solution", "Solution"), ("symptom", "Symptom"),
    ("root_cause", "Root cause"), ("workaround", "Workaround"),
    ("implementation_plan", "Implementation plan"), ("backout_plan", "Back-out plan"),
    ("test_plan", "Test plan"),
)


def show_text(data: dict[str, Any], *, captions: dict[str, str] | None = None) -> str:
    lines = [f"{one_line(data['id'])}  {one_line(data['summary'])}", ""]
    width = max(len(label) for label in
                [*(label for _, label in HEADER_FIELDS), *(captions or {}).values()])
    for key, label in HEADER_FIELDS:
        if data.get(key) not in (None, "", []):
            lines.append(f"  {label:<{width}}  {one_line(data[key])}")
    window = data.get("window")
    if window:
        lines.append(f"  {'window':<{width}}  {one_line(window.get('start'))} → "
                     f"{one_line(window.get('end'))}")
    escalation = data.get("escalation")
    if escalation:
        manager = escalation.get("manager")
        lines.append(f"  {'escalation':<{width}}  level {one_line(escalation.get('level', 0))}"
                     + (f", manager {one_line(manager)}" if manager else ""))
    for key, value in sorted((data.get("fields") or {}).items()):
        label = one_line((captions or {}).get(key, key))
        lines.append(f"  {label:<{width}}  {one_line(value)}")
    for key, title in TEXT_FIELDS:
        if data.get(key):
            lines += ["", f"{title}:", *(f"  {line}" for line in text_lines(data[key]))]
    if data.get("links"):
        lines += ["", "Links:"]
        lines += [f"  {one_line(link['rel']):<14} {one_line(link['id'])}"
                  for link in data["links"]]
    trail = [e for e in data.get("events") or [] if str(e.get("kind", "")).endswith("escalation")]
    if trail:
        lines += ["", "Escalations:"]
        for event in trail:
            if event["kind"] == "functional-escalation":
                what = f"to group {event.get('to')} (from {event.get('from') or 'none'})"
            else:
                what = f"level {event.get('level')} to {event.get('to')}"
            lines.append(f"  {one_line(event['at'])}  {one_line(event['by'])}: "
                         f"{one_line(what)}: {one_line(event.get('text', ''))}")
    if data.get("conflicts"):
        lines += ["", "Conflicts to settle (gitdesk conflicts resolve ID FIELD):"]
        for entry in data["conflicts"]:
            who = " ".join(one_line(x) for x in (entry.get("by"), entry.get("at"),
                                                 str(entry.get("commit") or "")[:10]) if x)
            lines.append(f"  {one_line(entry.get('field'))}: kept {one_line(entry.get('kept'))}"
                         f"; the other side had {one_line(entry.get('value'))}"
                         + (f" ({who})" if who else ""))
    if data.get("notes"):
        lines += ["", "Notes:"]
        for note in data["notes"]:
            tag = " (internal)" if note.get("internal") else ""
            text = text_lines(note.get("text", ""))
            lines.append(f"  {one_line(note['at'])}  {one_line(note['by'])}{tag}: {text[0]}")
            lines += [f"      {more}" for more in text[1:]]
    return "\n".join(lines) + "\n"


def flat_record(data: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """The columns of a ticket, read as --where reads them (fields.NAME, or a custom
    field's bare id)."""
    return {column: lookup(data, column) for column in columns}
