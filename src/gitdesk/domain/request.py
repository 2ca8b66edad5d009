"""Service request fulfilment: requests come from the catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gitdesk.domain.catalog import RequestType
from gitdesk.domain.config import DeskConfig
from gitdesk.errors import UsageError

FLAG_NAMES = {"ci": "--ci", "submitter": "--submitter", "assignee": "--assignee",
              "group": "--group", "category": "--category", "description": "-d/--description"}


def catalog_entry(config: DeskConfig, request_type: str | None) -> RequestType:
    names = ", ".join(config.catalog) or "none configured"
    if not request_type:
        raise UsageError("a service request needs --request-type",
                         hint=f"catalog: {names} (see `gitdesk catalog`)")
    entry = config.catalog.get(request_type)
    if entry is None:
        raise UsageError(
            f"--request-type: {request_type!r} is not in the request catalog",
            hint=f"catalog: {names}. A change to a system may need `gitdesk open change` "
                 "instead")
    return entry


def prepare(config: DeskConfig, values: dict[str, Any], description: str | None,
            now: datetime, *, fields: dict[str, Any] | None = None) -> datetime | None:
    """Fill a new request from its catalog entry; returns its due time, if any.

    A required key is met by the value of that name, the description, or a custom
    field of that id (--field KEY=VALUE)."""
    entry = catalog_entry(config, values.get("request_type"))
    given = {**(fields or {}), **values, "description": description}
    missing = [key for key in entry.required if given.get(key) in (None, "")]
    if missing:
        flags = ", ".join(FLAG_NAMES.get(k, f"--field {k}=...") for k in missing)
        raise UsageError(f"a {entry.id} request needs {flags}")
    if entry.group:
        values.setdefault("group", entry.group)
    if entry.category:
        values.setdefault("category", entry.category)
    values["approval_required"] = entry.needs_approval
    return now + entry.target if entry.target is not None else None
