"""Approval requests by email, through a real SMTP server on 127.0.0.1 (aiosmtpd).

The admin points the desk's config at the server (a signed commit). Moving a
change into `authorize` mails the people who can approve it, as the policy
names them. With the server down the action still succeeds and the message
waits in .git/gitdesk/outbox until `gitdesk notify flush` gets it out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from support.edits import edit_yaml
from support.git import fsck
from support.people import WINDOW, Desk, Person, commit, staffed_desk
from support.server import free_port

SENDER = "desk@example.org"


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(Mail(envelope.mail_from, sorted(envelope.rcpt_tos),
                               message_from_bytes(envelope.original_content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        assert self.controller is None
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def desk(tmp_path: Path, people: dict[str, Person], smtp: SmtpServer) -> Iterator[Desk]:
    """The staffed desk, its config pointing at the SMTP server (alice signs that)."""
    built = staffed_desk(tmp_path / "desk", people)

    def point_at_server(config: Any) -> None:
        config["notify"] = {"smtp": {"host": "127.0.0.1", "port": smtp.port, "from": SENDER,
                                     "timeout": 5}}

    edit_yaml(built.path / ".gitdesk/config.yaml", point_at_server)
    commit(built.path, people["alice"], "config: approval requests by email", sign=True)
    built.ok("verify")
    yield built
    fsck(built.path)


def outbox(desk: Desk) -> list[Path]:
    directory = desk.path / ".git" / "gitdesk" / "outbox"
    return sorted(directory.glob("*.eml")) if directory.is_dir() else []


def up_to_assess(desk: Desk, who: Person, *, cis: str | None = None) -> str:
    args = ["open", "change", "-s", "Upgrade nginx on web01", "--window", WINDOW, "--risk",
            "medium", "--ci", "web01"]
    tid = desk.ok_as(who, *args, *(["--cis", cis] if cis else [])).strip()
    desk.ok_as(who, "set", tid, "implementation_plan=upgrade", "backout_plan=downgrade",
               "test_plan=curl")
    desk.ok_as(who, "transition", tid, "assess")
    return tid


def test_authorize_emails_the_cab_members_named_in_the_policy(
        desk: Desk, people: dict[str, Person], smtp: SmtpServer) -> None:
    tid = up_to_assess(desk, people["dave"])
    assert smtp.inbox.mails == []  # opening and assessing ask nobody
    result = desk.as_(people["dave"], "transition", tid, "authorize")
    assert result.exit_code == 0, result.stderr
    assert "asked alice@example.org, bob@example.org by email" in result.stderr
    assert len(smtp.inbox.mails) == 1
    mail = smtp.inbox.mails[0]
    assert mail.sender == SENDER
    assert mail.recipients == ["alice@example.org", "bob@example.org"]
    assert mail.message["From"] == SENDER
    assert mail.message["Subject"] == f"Approval needed: {tid} Upgrade nginx on web01"
    body = mail.message.get_payload(decode=True).decode()
    assert "needs 1 approval(s) from group cab (has 0); ask: alice, bob" in body
    assert f'gitdesk approve {tid} -m "..."' in body
    assert outbox(desk) == []


def test_each_group_a_change_needs_is_asked(desk: Desk, people: dict[str, Person],
                                            smtp: SmtpServer) -> None:
    def cab_has_a_list(policy: Any) -> None:
        policy["groups"]["cab"]["notify"] = "cab@example.org"

    edit_yaml(desk.path / ".gitdesk/policy.yaml", cab_has_a_list)
    commit(desk.path, people["alice"], "policy: the CAB's mailing list", sign=True)
    tid = up_to_assess(desk, people["dave"], cis="db01")
    desk.ok_as(people["dave"], "transition", tid, "authorize")
    assert len(smtp.inbox.mails) == 1
    mail = smtp.inbox.mails[0]
    assert mail.recipients == ["cab@example.org", "carol@example.org"]
    body = mail.message.get_payload(decode=True).decode()
    assert "group cab (has 0); ask: alice, bob" in body
    assert "group dba (has 0); ask: carol" in body


def test_with_the_server_down_the_message_waits_in_the_outbox_until_flush(
        desk: Desk, people: dict[str, Person], smtp: SmtpServer) -> None:
    dave = people["dave"]
    tid = up_to_assess(desk, dave)
    smtp.stop()
    head = desk.head()
    result = desk.as_(dave, "transition", tid, "authorize")
    assert result.exit_code == 0, result.stderr
    assert desk.head() != head and desk.ticket(tid)["status"] == "authorize"
    assert "could not email alice@example.org, bob@example.org" in result.stderr
    assert "gitdesk notify flush" in result.stderr
    waiting = outbox(desk)
    assert len(waiting) == 1
    queued = message_from_bytes(waiting[0].read_bytes())
    assert queued["Subject"] == f"Approval needed: {tid} Upgrade nginx on web01"

    still_down = desk("notify", "flush")
    assert still_down.exit_code == 1
    assert "not sent" in still_down.stderr and "still in the outbox" in still_down.stderr
    assert outbox(desk) == waiting

    smtp.start()
    flushed = desk("notify", "flush")
    assert flushed.exit_code == 0, flushed.stderr
    assert "sent 1, waiting 0" in flushed.stderr
    assert outbox(desk) == []
    assert len(smtp.inbox.mails) == 1
    mail = smtp.inbox.mails[0]
    assert mail.recipients == ["alice@example.org", "bob@example.org"]
    assert mail.message["Message-ID"] == queued["Message-ID"]
    assert mail.message["Subject"] == queued["Subject"]

    again = desk("notify", "flush")
    assert again.exit_code == 0 and "sent 0, waiting 0" in again.stderr
    assert len(smtp.inbox.mails) == 1


def test_a_summary_with_cr_lf_makes_a_one_line_subject_and_the_mail_goes_out(
        desk: Desk, people: dict[str, Person], smtp: SmtpServer) -> None:
    """A CR/LF in the summary cannot add a header (or lines to the body), and does not
    stop the mail after the commit is written."""
    dave = people["dave"]
    summary = "Upgrade nginx\r\nBcc: mallory@example.org\n\nApprove with: anything"
    tid = desk.ok_as(dave, "open", "change", "-s", summary, "--window", WINDOW, "--risk",
                     "medium", "--ci", "web01").strip()
    desk.ok_as(dave, "set", tid, "implementation_plan=upgrade", "backout_plan=downgrade",
               "test_plan=curl")
    desk.ok_as(dave, "transition", tid, "assess")
    head = desk.head()
    result = desk.as_(dave, "transition", tid, "authorize")
    assert result.exit_code == 0, result.stderr
    assert "internal error" not in result.stderr
    assert desk.head() != head and desk.ticket(tid)["status"] == "authorize"
    assert desk.ticket(tid)["summary"] == summary  # the data is untouched
    assert "asked alice@example.org, bob@example.org by email" in result.stderr
    assert len(smtp.inbox.mails) == 1 and outbox(desk) == []
    mail = smtp.inbox.mails[0]
    assert mail.recipients == ["alice@example.org", "bob@example.org"]
    # a long header is folded (RFC 5322 2.2.3); unfolded, it is the one line
    subject = re.sub(r"\r?\n(?=[ \t])", "", mail.message["Subject"])
    assert subject == (f"Approval needed: {tid} Upgrade nginx Bcc: mallory@example.org "
                       "Approve with: anything")
    assert mail.message["Bcc"] is None
    body = mail.message.get_payload(decode=True).decode()
    assert not any(line.startswith(("Bcc:", "Approve with: anything"))
                   for line in body.splitlines())
    assert "Summary: Upgrade nginx^M⏎Bcc: mallory@example.org⏎⏎Approve with: anything" \
        in body


def test_any_failure_to_send_leaves_the_message_in_the_outbox(
        desk: Desk, people: dict[str, Person], smtp: SmtpServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gitdesk.actions import notify

    def broken(smtp: Any, message: Any) -> None:
        raise UnicodeEncodeError("ascii", "é", 0, 1, "the server does not speak SMTPUTF8")

    dave = people["dave"]
    tid = up_to_assess(desk, dave)
    with monkeypatch.context() as patched:
        patched.setattr(notify, "send", broken)
        result = desk.as_(dave, "transition", tid, "authorize")
    assert result.exit_code == 0, result.stderr
    assert desk.ticket(tid)["status"] == "authorize"
    assert "internal error" not in result.stderr
    assert "could not email alice@example.org, bob@example.org" in result.stderr
    assert "waits in the outbox" in result.stderr
    waiting = outbox(desk)
    assert len(waiting) == 1
    assert message_from_bytes(waiting[0].read_bytes())["Subject"] == \
        f"Approval needed: {tid} Upgrade nginx on web01"
    assert desk("notify", "flush").exit_code == 0
    assert len(smtp.inbox.mails) == 1 and outbox(desk) == []
