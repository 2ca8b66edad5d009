"""Hand edits of the desk's YAML files, as a person with an editor would make them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitdesk.domain.approvals import content_hash
from gitdesk.domain.model import plain
from gitdesk.yaml import roundtrip as yamlio


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    """Edit a YAML file in round-trip mode, as a person with an editor would."""
    data = yamlio.load(path.read_bytes(), str(path))
    change(data)
    path.write_bytes(yamlio.dump(data))


def approval_entry(ticket: Any, who: str, group: str, decision: str = "approved",
                   level: int = 0) -> Any:
    """An approval entry as gitdesk would write it, for the ticket as it is now."""
    return yamlio.flow_map({"by": who, "decision": decision,
                            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "level": level, "group": group,
                            "content_hash": content_hash(plain(ticket))})


def hand_approve(who: str, group: str) -> Callable[[Any], None]:
    def change(ticket: Any) -> None:
        entry = approval_entry(ticket, who, group)
        if ticket.get("approvals") is None:
            ticket["approvals"] = yamlio.seq()
        ticket["approvals"].append(entry)

    return change
