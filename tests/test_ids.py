"""Ticket IDs: minting, format, prefix resolution and refusal of anything else."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from gitdesk.domain import ids
from support.cli import Gitdesk

TIME_PART = "01JDXK6Q2K"
PAD = "00000000"


def state(desk: Gitdesk) -> tuple[str, str, str]:
    """What must not change when a command is refused: tip, status, ticket files."""
    files = desk.git("ls-files", "tickets")
    return desk.git("rev-parse", "HEAD"), desk.git("status", "--porcelain"), files


def fake_ulids(monkeypatch: pytest.MonkeyPatch, randoms: list[str]) -> list[str]:
    """Make gitdesk mint ULIDs whose random part starts with the given 8 characters."""
    queue = list(randoms)
    served: list[str] = []

    def ulid(now_ms: int | None = None) -> str:
        value = TIME_PART + queue.pop(0) + PAD
        served.append(value)
        return value

    monkeypatch.setattr(ids, "ulid", ulid)
    return served


# --- ids module -----------------------------------------------------------------------------

def decode(text: str) -> int:
    value = 0
    for ch in text:
        value = value * 32 + ids.CROCKFORD.index(ch)
    return value


@pytest.mark.parametrize("now_ms", [0, 1, 1_732_550_400_000, 2**48 - 1])
def test_ulid_is_26_crockford_characters_with_the_time_first(now_ms: int) -> None:
    uid = ids.ulid(now_ms)
    assert len(uid) == 26
    assert set(uid) <= set(ids.CROCKFORD)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", uid)
    assert decode(uid[:10]) == now_ms
    assert decode(uid) >> 80 == now_ms


def test_ulids_of_one_millisecond_differ_and_sort_by_time() -> None:
    same = {ids.ulid(1_700_000_000_000) for _ in range(200)}
    assert len(same) == 200
    assert ids.ulid(1_700_000_000_000) < ids.ulid(1_700_000_000_001)
    assert ids.ulid()[:10] != "0000000000"


def test_ticket_id_takes_eight_characters_of_the_random_part() -> None:
    uid = ids.ulid(1_700_000_000_000)
    tid = ids.ticket_id("INC", uid)
    assert tid == "INC-" + uid[10:18]
    assert ids.ID_RE.match(tid)
    assert ids.shard(tid) == uid[10:12]
    assert ids.ticket_id("CHG", TIME_PART + "7Q2K9XDM" + PAD) == "CHG-7Q2K9XDM"


@pytest.mark.parametrize(("query", "expected"), [
    ("INC-7Q2K9XDM", ("INC", "7Q2K9XDM")),
    ("inc-7q2k", ("INC", "7Q2K")),
    ("7Q2K9", (None, "7Q2K9")),
    ("  INC-7Q2K  ", ("INC", "7Q2K")),
    ("INC-ILOU", ("INC", "110V")),
    ("INC-uuuu", ("INC", "VVVV")),
])
def test_parse_query_accepts_ids_and_prefixes(query: str, expected: tuple[str | None, str]) -> None:
    assert ids.parse_query(query) == expected


@pytest.mark.parametrize("query", [
    "", " ", "INC-", "INC-7Q2", "7Q2", "INC-7Q2K9XDMX", "../../etc/passwd", "INC-7Q2K/..",
    "INC-7Q2K9XD!", "-7Q2K", "INC--7Q2K", "INC-7Q2K\nINC-7Q2K", "tickets/incident/7Q/INC-7Q2K",
])
def test_parse_query_refuses_what_cannot_be_an_id(query: str) -> None:
    with pytest.raises(ValueError, match="is not a ticket ID"):
        ids.parse_query(query)


# --- refusal through the command line ------------------------------------------------------

BAD_QUERIES = [
    ("../../etc/passwd", "is not a ticket ID"),
    ("", "is not a ticket ID"),
    ("INC-", "is not a ticket ID"),
    ("INC-7Q2", "at least 4 characters"),
    ("INC-ZZZZZZZZ", "no ticket INC-ZZZZZZZZ"),
    ("XYZ-1234", "no ticket type has the prefix XYZ-"),
    ("tickets/incident", "is not a ticket ID"),
]


@pytest.fixture
def populated(desk: Gitdesk) -> Iterator[tuple[Gitdesk, str]]:
    tid = desk.open("incident", "-s", "Printer jammed")
    yield desk, tid


@pytest.mark.parametrize(("query", "message"), BAD_QUERIES)
@pytest.mark.parametrize("command", [
    ("note", "{q}", "-m", "text"),
    ("show", "{q}"),
    ("set", "{q}", "urgency=low"),
    ("assign", "{q}", "test"),
    ("transition", "{q}", "in-progress"),
    ("link", "{tid}", "related", "{q}"),
    ("link", "{q}", "related", "{tid}"),
    ("history", "{q}"),
])
def test_bad_ids_are_refused_with_exit_1_and_nothing_written(
        populated: tuple[Gitdesk, str], query: str, message: str,
        command: tuple[str, ...]) -> None:
    desk, tid = populated
    before = state(desk)
    args = [part.format(q=query, tid=tid) for part in command]
    result = desk(*args)
    assert result.exit_code == 1, (args, result)
    assert message in result.stderr
    assert result.stderr.startswith("gitdesk: error: ")
    assert "internal error" not in result.stderr
    assert result.stdout == ""
    assert state(desk) == before


def test_unknown_prefix_error_lists_the_known_prefixes(populated: tuple[Gitdesk, str]) -> None:
    desk, _tid = populated
    result = desk("show", "XYZ-1234")
    assert result.exit_code == 1
    assert "INC (incident)" in result.stderr and "CHG (change)" in result.stderr


def test_open_with_a_link_to_a_bad_id_writes_nothing(populated: tuple[Gitdesk, str]) -> None:
    desk, _tid = populated
    before = state(desk)
    result = desk("open", "incident", "-s", "x", "--link", "related:../../etc/passwd")
    assert result.exit_code == 1
    assert "is not a ticket ID" in result.stderr
    assert state(desk) == before


# --- prefix resolution ---------------------------------------------------------------------

def shown_id(desk: Gitdesk, query: str) -> str:
    return str(json.loads(desk.ok("show", query, "--format", "json"))["id"])


def test_any_unique_prefix_of_four_or_more_characters_resolves(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Mail queue stuck")
    other = desk.open("incident", "-s", "Disk full")
    rest = tid.partition("-")[2]
    for n in range(4, 9):
        assert shown_id(desk, f"INC-{rest[:n]}") == tid
        assert shown_id(desk, rest[:n]) == tid
        assert shown_id(desk, f"inc-{rest[:n].lower()}") == tid
    desk.ok("note", f"INC-{rest[:4]}", "-m", "by prefix")
    data = json.loads(desk.ok("show", tid, "--format", "json"))
    assert [n["text"] for n in data["notes"]] == ["by prefix"]
    assert json.loads(desk.ok("show", other, "--format", "json"))["notes"] == []


def test_misread_characters_are_normalised(desk: Gitdesk,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ulids(monkeypatch, ["1V0QAAAA"])
    tid = desk.open("incident", "-s", "x")
    assert tid == "INC-1V0QAAAA"
    assert shown_id(desk, "INC-IUOQ") == tid
    assert shown_id(desk, "inc-luoq") == tid


def test_ambiguous_prefix_lists_the_candidates(desk: Gitdesk,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ulids(monkeypatch, ["ABCD1234", "ABCD5678", "ABCD9999"])
    first = desk.open("incident", "-s", "first")
    second = desk.open("incident", "-s", "second")
    third = desk.open("problem", "-s", "third")
    assert (first, second, third) == ("INC-ABCD1234", "INC-ABCD5678", "PRB-ABCD9999")
    before = state(desk)

    result = desk("note", "INC-ABCD", "-m", "which one?")
    assert result.exit_code == 1
    assert "INC-ABCD is ambiguous; it matches: INC-ABCD1234, INC-ABCD5678" in result.stderr
    assert "hint: give more characters of the ID" in result.stderr
    assert state(desk) == before

    result = desk("show", "abcd")
    assert result.exit_code == 1
    assert "it matches: INC-ABCD1234, INC-ABCD5678, PRB-ABCD9999" in result.stderr

    assert shown_id(desk, "INC-ABCD1") == first
    assert shown_id(desk, "ABCD5") == second
    assert shown_id(desk, "PRB-ABCD") == third
    assert shown_id(desk, "ABCD9") == third


def test_a_local_id_collision_is_retried(desk: Gitdesk,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    served = fake_ulids(monkeypatch, ["ABCD1234", "ABCD1234", "ABCD1234", "ABCD5678"])
    first = desk.open("incident", "-s", "first")
    second = desk.open("incident", "-s", "second")
    assert (first, second) == ("INC-ABCD1234", "INC-ABCD5678")
    assert len(served) == 4
    assert json.loads(desk.ok("show", first, "--format", "json"))["summary"] == "first"
    assert json.loads(desk.ok("show", second, "--format", "json"))["uid"] == served[-1]


def test_endless_collisions_are_refused(desk: Gitdesk, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ulids(monkeypatch, ["ABCD1234"] * 18)
    desk.open("incident", "-s", "first")
    before = state(desk)
    result = desk("open", "incident", "-s", "second")
    assert result.exit_code == 1
    assert "could not mint a free ticket ID" in result.stderr
    assert state(desk) == before


def test_same_random_part_in_two_types_is_not_a_collision(
        desk: Gitdesk, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ulids(monkeypatch, ["ABCD1234", "ABCD1234"])
    assert desk.open("incident", "-s", "a") == "INC-ABCD1234"
    assert desk.open("problem", "-s", "b") == "PRB-ABCD1234"
    assert shown_id(desk, "PRB-ABCD") == "PRB-ABCD1234"
    result = desk("show", "ABCD1234")
    assert result.exit_code == 1
    assert "INC-ABCD1234, PRB-ABCD1234" in result.stderr


def test_minted_ids_match_the_schema_and_the_file_place(desk: Gitdesk) -> None:
    for type_name, prefix in (("incident", "INC"), ("problem", "PRB"), ("change", "CHG")):
        tid = desk.open(type_name, "-s", f"a {type_name}")
        assert ids.ID_RE.match(tid) and tid.startswith(prefix + "-")
        data = json.loads(desk.ok("show", tid, "--format", "json"))
        assert data["id"] == tid
        assert ids.ticket_id(prefix, data["uid"]) == tid
        path = f"tickets/{type_name}/{tid[len(prefix) + 1:][:2]}/{tid}.yaml"
        assert desk.git("ls-files", path).strip() == path
