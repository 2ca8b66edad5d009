"""Approval requests by email, through an outbox that never loses a message.

A message is written to .git/gitdesk/outbox/ first, then sent; a failed send
(whatever the failure) leaves it there for `gitdesk notify flush`. SMTP settings
live in the desk's config (`notify.smtp`); the password, if any, comes from
GITDESK_SMTP_PASSWORD. Ticket text in a header is folded to one line (a CR or
LF in a summary cannot add a header), and in the body it is one visible line
(it cannot add lines that pass for the mail's own instructions).
"""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

from gitdesk import gitio
from gitdesk.domain.approvals import Shortfall
from gitdesk.domain.config import Policy
from gitdesk.domain.text import header_text, one_line


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    sender: str
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> Smtp | None:
        smtp = (raw.get("notify") or {}).get("smtp")
        if not smtp:
            return None
        return cls(host=smtp["host"], port=int(smtp.get("port", 25)), sender=smtp["from"],
                   starttls=bool(smtp.get("starttls", False)), ssl=bool(smtp.get("ssl", False)),
                   username=smtp.get("username"), timeout=float(smtp.get("timeout", 10)))


def outbox(repo: gitio.Repo) -> Path:
    return repo.state_dir / "outbox"


def recipients(policy: Policy, missing: list[Shortfall]) -> list[str]:
    addresses: list[str] = []
    for shortfall in missing:
        group = policy.groups.get(shortfall.level.group)
        if group is not None and group.notify:
            addresses.append(group.notify)
            continue
        for person_id in shortfall.candidates:
            person = policy.people.get(person_id)
            if person is not None and person.email:
                addresses.append(person.email)
    return list(dict.fromkeys(addresses))


def approval_request(smtp: Smtp, to: list[str], ticket: dict[str, Any],
                     missing: list[Shortfall]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(to)
    message["Subject"] = header_text(f"Approval needed: {ticket['id']} {ticket['summary']}")
    message["Message-ID"] = f"<{uuid.uuid4().hex}@gitdesk>"
    needs = "\n".join(f"  - {one_line(str(m))}" for m in missing)
    message.set_content(
        f"{ticket['id']} ({ticket['type']}, {ticket['status']}) needs approval:\n{needs}\n\n"
        f"Summary: {one_line(ticket['summary'])}\n\n"
        f"Review it with:  gitdesk show {ticket['id']}\n"
        f"Approve with:    gitdesk approve {ticket['id']} -m \"...\"\n"
        f"Reject with:     gitdesk reject {ticket['id']} -m \"why\"\n")
    return message


def queue(repo: gitio.Repo, message: EmailMessage) -> Path:
    path = outbox(repo) / f"{uuid.uuid4().hex}.eml"
    gitio.atomic_write(path, message.as_bytes(policy=SMTP_POLICY), private=True)
    return path


def send(smtp: Smtp, message: EmailMessage) -> None:
    password = os.environ.get("GITDESK_SMTP_PASSWORD")
    client: smtplib.SMTP
    if smtp.ssl:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    with client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.username and password:
            client.login(smtp.username, password)
        client.send_message(message)


@dataclass(frozen=True)
class Delivery:
    """How a message fared: sent, or the reason it was not and where it waits."""

    error: str | None = None
    queued: Path | None = None


def deliver(repo: gitio.Repo, smtp: Smtp, message: EmailMessage) -> Delivery:
    """Queue then send. Any failure to send leaves the message queued; if even the
    outbox cannot be written, it is still sent if it can be."""
    try:
        path: Path | None = queue(repo, message)
        unqueued = ""
    except OSError as exc:
        path, unqueued = None, f"; the outbox could not keep it either ({exc})"
    try:
        send(smtp, message)
    except Exception as exc:  # whatever smtplib or the message raises: the action stands
        return Delivery(f"{type(exc).__name__}: {exc}{unqueued}", path)
    if path is not None:
        path.unlink(missing_ok=True)
    return Delivery()


def flush(repo: gitio.Repo, smtp: Smtp) -> tuple[int, list[str]]:
    """Send every queued message; returns (sent, errors)."""
    sent, errors = 0, []
    directory = outbox(repo)
    for path in sorted(directory.glob("*.eml")) if directory.is_dir() else []:
        message = BytesParser(policy=SMTP_POLICY).parsebytes(path.read_bytes())
        try:
            send(smtp, message)
        except Exception as exc:  # it stays queued, whatever went wrong
            errors.append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        path.unlink(missing_ok=True)
        sent += 1
    return sent, errors
