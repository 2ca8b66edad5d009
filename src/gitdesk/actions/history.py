"""A ticket's timeline, read from git: who changed what, when."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitdesk import gitio
from gitdesk.domain.diff import LINKS, LISTS, diff
from gitdesk.domain.model import plain
from gitdesk.errors import GitdeskError
from gitdesk.store.write import Desk
from gitdesk.yaml import roundtrip as yamlio


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Event:
    commit: str
    at: str
    author: str
    email: str
    action: str
    subject: str
    changes: list[Change] = field(default_factory=list)


def ticket_history(desk: Desk, query: str) -> tuple[str, list[Event]]:
    snap = desk.snapshot()
    ticket_id = snap.resolve(query)
    path = snap.path_of(ticket_id)
    out = gitio.run_git(desk.repo, [
        "log", "--reverse", "--no-renames", "--format=%H%x1f%an%x1f%ae%x1f%aI%x1f"
        "%(trailers:key=Gitdesk-Action,valueonly,separator=)%x1f%s%x1e",
        desk.ref, "--", path])
    events = []
    previous: dict[str, Any] = {}
    for record in out.decode("utf-8", "replace").split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        commit, author, email, at, action, subject = record.split("\x1f")
        data = gitio.read_blob(desk.repo, gitio.rev_commit(desk.repo, commit).tree, path)
        current = _load(data, path) if data is not None else {}
        events.append(Event(commit, at, author, email, action.strip() or "edit", subject,
                            changes(previous, current)))
        previous = current
    return ticket_id, events


def _load(data: bytes, path: str) -> dict[str, Any]:
    try:
        loaded = plain(yamlio.load(data, path))
    except GitdeskError as exc:
        return {"(unreadable)": str(exc)}
    return loaded if isinstance(loaded, dict) else {"(unreadable)": "not a mapping"}


OPENING = ("summary", "status", "priority", "assignee", "group", "ci")
ITEM_LABELS = {"notes": "note", "approvals": "approval", "events": "escalation"}


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The field changes of one version against the one before ({}: none). A new
    ticket shows its headline fields (OPENING), then its entries and links; custom
    fields show as one value."""
    found = diff(old, new, custom=False)
    if not old:
        first = {change[0]: change for change in found if change[0] not in LISTS}
        found = [first[key] for key in OPENING if key in first] + \
            [change for change in found if change[0] in LISTS]
    return [_change(*change) for change in found]


def _change(key: str, old: Any, new: Any) -> Change:
    if key in ITEM_LABELS:
        return Change(ITEM_LABELS[key], None, _describe(key, new))
    if key == LINKS:
        return Change("link", old, new)
    return Change(key, old, new)


def _describe(key: str, item: dict[str, Any]) -> str:
    if key == "approvals":
        comment = f": {item['comment']}" if item.get("comment") else ""
        return f"{item.get('decision')} by {item.get('by')} for {item.get('group')}{comment}"
    if key == "events":
        kind = str(item.get("kind", "")).replace("-escalation", "")
        level = f" level {item['level']}" if item.get("level") else ""
        return f"{kind}{level} to {item.get('to')}: {item.get('text', '')}"
    return str(item.get("text", ""))
