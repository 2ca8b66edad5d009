"""Files broken by hand (plain git, no gitdesk) are reported, never half-used.

A ticket that breaks the schema blocks only itself: actions on it refuse and
name the file and line, other tickets keep working, `list` skips it with a
warning and `doctor` reports it. A broken .gitdesk/config.yaml blocks every
command with file, key and reason, and doctor reports it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from ruamel.yaml import YAML

from support.cli import Gitdesk

CONFIG = ".gitdesk/config.yaml"


def ticket_path(desk: Gitdesk, tid: str) -> str:
    found = desk.git("ls-files", f"tickets/*/{tid.partition('-')[2][:2]}/{tid}.yaml").split()
    assert len(found) == 1, found
    return found[0]


def commit_by_hand(desk: Gitdesk, path: str, text: str, message: str = "hand edit") -> None:
    (desk.path / path).write_text(text, encoding="utf-8")
    desk.git("add", path)
    desk.git("commit", "-q", "--no-verify", "-m", message)


def line_of(text: str, prefix: str) -> int:
    """1-based number of the first line starting with prefix."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(prefix):
            return number
    raise AssertionError(f"no line starts with {prefix!r}")


def tip(desk: Gitdesk) -> str:
    return desk.git("rev-parse", "HEAD").strip()


# --- broken ticket files -------------------------------------------------------------------

@dataclass(frozen=True)
class Breakage:
    name: str
    edit: Callable[[str], str]
    key: str | None           # the key the message names (None: a YAML syntax error)
    line_prefix: str | None   # the line that is at fault, if the tool can know it
    words: str                # a fragment of the reason


def _replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)
    return edit


BREAKAGES = [
    Breakage("status-integer", _replace("status: new", "status: 5"), "status", "status:",
             "must be string"),
    Breakage("unknown-key", lambda t: t + "bogus_key: 1\n", "bogus_key", "bogus_key:",
             "is not a known key"),
    Breakage("unknown-priority", _replace("priority: medium", "priority: bogus"), "priority",
             "priority:", "unknown value 'bogus'"),
    Breakage("bad-created", lambda t: t.replace(
        t[t.index("created:"):].split("\n", 1)[0], "created: yesterday"), "created",
        "created:", "is not a date-time"),
    Breakage("unknown-status", _replace("status: new", "status: limbo"), "status", "status:",
             "unknown value 'limbo'"),
    Breakage("syntax-error", _replace("summary: The printer", "summary: [The printer"), None,
             None, "line "),
    Breakage("duplicate-key", lambda t: t + "summary: again\n", None, "summary: again",
             "duplicate key"),
]


@pytest.fixture
def two_tickets(desk: Gitdesk) -> tuple[Gitdesk, str, str]:
    good = desk.open("incident", "-s", "Mail is slow")
    bad = desk.open("incident", "-s", "The printer is on fire")
    return desk, good, bad


def break_ticket(desk: Gitdesk, tid: str, breakage: Breakage) -> tuple[str, str]:
    path = ticket_path(desk, tid)
    text = breakage.edit((desk.path / path).read_text(encoding="utf-8"))
    commit_by_hand(desk, path, text, f"break {tid} by hand")
    return path, text


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.name)
def test_action_on_a_broken_ticket_names_file_and_line_and_writes_nothing(
        two_tickets: tuple[Gitdesk, str, str], breakage: Breakage) -> None:
    desk, _good, bad = two_tickets
    path, text = break_ticket(desk, bad, breakage)
    before = tip(desk)
    for args in (("note", bad, "-m", "any news?"), ("set", bad, "urgency=low"),
                 ("transition", bad, "in-progress")):
        result = desk(*args)
        assert result.exit_code == 1, (args, result)
        assert f"{path}: invalid" in result.stderr
        assert "internal error" not in result.stderr
        if breakage.key is not None:
            assert f"{breakage.key}:" in result.stderr
        if breakage.line_prefix is not None:
            assert f"line {line_of(text, breakage.line_prefix)}" in result.stderr
        else:
            assert "line " in result.stderr and "column " in result.stderr
        assert breakage.words in result.stderr
        assert tip(desk) == before
        assert desk.git("status", "--porcelain") == ""
    assert (desk.path / path).read_text(encoding="utf-8") == text
    shown = desk("show", bad)
    assert shown.exit_code == 1 and path in shown.stderr


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.name)
def test_other_tickets_keep_working(two_tickets: tuple[Gitdesk, str, str],
                                    breakage: Breakage) -> None:
    desk, good, bad = two_tickets
    path, text = break_ticket(desk, bad, breakage)
    start = desk.commits()
    desk.ok("note", good, "-m", "still fine")
    desk.ok("set", good, "urgency=low", "impact=low")
    third = desk.open("incident", "-s", "A new one")
    assert desk.commits() == start + 3
    data = json.loads(desk.ok("show", good, "--format", "json"))
    assert [n["text"] for n in data["notes"]] == ["still fine"]
    assert data["priority"] == "planning"
    listed = json.loads(desk("list", "--format", "json").stdout)
    assert sorted(r["id"] for r in listed) == sorted([good, third])
    assert (desk.path / path).read_text(encoding="utf-8") == text
    assert desk.git("status", "--porcelain") == ""


@pytest.mark.parametrize("breakage", [BREAKAGES[0], BREAKAGES[5]], ids=lambda b: b.name)
@pytest.mark.parametrize("options", [(), ("--open",)], ids=["all", "open"])
def test_list_warns_about_the_broken_file_on_stderr(two_tickets: tuple[Gitdesk, str, str],
                                                    breakage: Breakage,
                                                    options: tuple[str, ...]) -> None:
    desk, good, bad = two_tickets
    path, _text = break_ticket(desk, bad, breakage)
    result = desk("list", *options, "--format", "json")
    assert result.exit_code == 0
    assert [r["id"] for r in json.loads(result.stdout)] == [good]
    assert "warning" in result.stderr and path in result.stderr


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.name)
def test_doctor_reports_file_line_and_key(two_tickets: tuple[Gitdesk, str, str],
                                          breakage: Breakage) -> None:
    desk, good, bad = two_tickets
    path, text = break_ticket(desk, bad, breakage)
    result = desk("doctor")
    assert result.exit_code == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith(path)]
    assert problems, result.stdout
    assert not any(good in line for line in result.stdout.splitlines())
    if breakage.key is not None and breakage.line_prefix is not None:
        where = f"{path}:{line_of(text, breakage.line_prefix)}: {breakage.key}"
        assert any(line.startswith(where) for line in problems), (where, problems)
    elif breakage.line_prefix is not None:
        assert any(f"line {line_of(text, breakage.line_prefix)}" in line for line in problems)
    else:
        assert any("line " in line and "column " in line for line in problems)
    assert any(breakage.words in line for line in problems)
    assert "problem(s) found" in result.stderr


def test_doctor_reports_every_problem_of_a_file(two_tickets: tuple[Gitdesk, str, str]) -> None:
    desk, _good, bad = two_tickets
    path = ticket_path(desk, bad)
    text = (desk.path / path).read_text(encoding="utf-8")
    text = text.replace("status: new", "status: 5") + "bogus_key: 1\nother_key: x\n"
    commit_by_hand(desk, path, text)
    result = desk("doctor")
    assert result.exit_code == 1
    for key, prefix in (("status", "status:"), ("bogus_key", "bogus_key:"),
                        ("other_key", "other_key:")):
        assert f"{path}:{line_of(text, prefix)}: {key}:" in result.stdout


def test_a_ticket_that_is_not_a_mapping_is_refused(two_tickets: tuple[Gitdesk, str, str]) -> None:
    desk, good, bad = two_tickets
    path = ticket_path(desk, bad)
    commit_by_hand(desk, path, "- just\n- a list\n")
    before = tip(desk)
    result = desk("note", bad, "-m", "x")
    assert result.exit_code == 1
    assert path in result.stderr and "mapping" in result.stderr
    assert tip(desk) == before
    desk.ok("note", good, "-m", "fine")
    doctor = desk("doctor")
    assert doctor.exit_code == 1 and f"{path}: a ticket file must be a YAML mapping" in \
        doctor.stdout


def test_healthy_desk_doctor_exits_0(desk: Gitdesk) -> None:
    desk.open("incident", "-s", "fine")
    result = desk("doctor")
    assert result.exit_code == 0, result
    assert result.stdout == ""


# --- broken config -------------------------------------------------------------------------

def _round_trip(change: Callable[[Any], None]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        yaml = YAML()
        yaml.width = 4096
        data = yaml.load(text)
        change(data)
        out = io.StringIO()
        yaml.dump(data, out)
        return out.getvalue()
    return edit


def _key_line(text: str, keys: tuple[str, ...]) -> int:
    node = YAML().load(text)
    line = None
    for key in keys:
        line = node.lc.key(key)[0] + 1
        node = node[key]
    assert line is not None
    return line


@dataclass(frozen=True)
class ConfigBreakage:
    name: str
    edit: Callable[[str], str]
    key: str
    line_keys: tuple[str, ...]
    reason: str


CONFIG_BREAKAGES = [
    ConfigBreakage(
        "transition-to-unknown-state",
        _round_trip(lambda d: d["workflows"]["incident"]["transitions"]["new"].append("nowhere")),
        "workflows.incident.transitions.new", ("workflows", "incident", "transitions", "new"),
        "unknown state 'nowhere'"),
    ConfigBreakage(
        "matrix-missing-a-cell",
        _round_trip(lambda d: d["priority_matrix"]["low"].pop("low")),
        "priority_matrix.low", ("priority_matrix", "low"), "missing cell for urgency 'low'"),
    ConfigBreakage(
        "unknown-initial-state",
        _round_trip(lambda d: d["workflows"]["incident"].__setitem__("initial", "limbo")),
        "workflows.incident.initial", ("workflows", "incident", "initial"),
        "unknown state 'limbo'"),
    ConfigBreakage(
        "bad-prefix",
        _round_trip(lambda d: d["types"]["incident"].__setitem__("prefix", "inc")),
        "types.incident.prefix", ("types", "incident", "prefix"), "does not match"),
    ConfigBreakage(
        "unknown-top-level-key",
        _round_trip(lambda d: d.__setitem__("colour", "blue")),
        "colour", ("colour",), "is not a known key"),
]


@pytest.fixture
def broken_config_desk(desk: Gitdesk, request: pytest.FixtureRequest
                       ) -> tuple[Gitdesk, str, str, ConfigBreakage, str]:
    tid = desk.open("incident", "-s", "Before the config broke")
    other = desk.open("incident", "-s", "Another one")
    breakage: ConfigBreakage = request.param
    text = breakage.edit((desk.path / CONFIG).read_text(encoding="utf-8"))
    commit_by_hand(desk, CONFIG, text, "break the config by hand")
    return desk, tid, other, breakage, text


COMMANDS = [
    ("open", "incident", "-s", "x"),
    ("note", "{tid}", "-m", "x"),
    ("show", "{tid}"),
    ("list",),
    ("list", "--open"),
    ("set", "{tid}", "urgency=low"),
    ("assign", "{tid}", "test"),
    ("transition", "{tid}", "in-progress"),
    ("link", "{tid}", "related", "{other}"),
    ("history", "{tid}"),
]


@pytest.mark.parametrize("broken_config_desk", CONFIG_BREAKAGES, indirect=True,
                         ids=lambda b: b.name)
def test_broken_config_makes_every_command_refuse(
        broken_config_desk: tuple[Gitdesk, str, str, ConfigBreakage, str]) -> None:
    desk, tid, other, breakage, text = broken_config_desk
    before = tip(desk)
    line = _key_line(text, breakage.line_keys)
    for command in COMMANDS:
        args = [part.format(tid=tid, other=other) for part in command]
        result = desk(*args)
        assert result.exit_code == 1, (args, result)
        assert result.stdout == ""
        assert f"{CONFIG}: invalid" in result.stderr, (args, result.stderr)
        assert f"line {line}: {breakage.key}: " in result.stderr, (args, result.stderr)
        assert breakage.reason in result.stderr
        assert "internal error" not in result.stderr
    assert tip(desk) == before
    assert desk.git("status", "--porcelain") == ""


@pytest.mark.parametrize("broken_config_desk", CONFIG_BREAKAGES, indirect=True,
                         ids=lambda b: b.name)
def test_doctor_reports_a_broken_config(
        broken_config_desk: tuple[Gitdesk, str, str, ConfigBreakage, str]) -> None:
    desk, _tid, _other, breakage, text = broken_config_desk
    result = desk("doctor")
    assert result.exit_code == 1
    line = _key_line(text, breakage.line_keys)
    reports = [r for r in result.stdout.splitlines() if r.startswith(CONFIG)]
    assert any(f"line {line}: {breakage.key}: " in r and breakage.reason in r
               for r in reports), result.stdout


def test_config_with_a_yaml_syntax_error_blocks_every_command(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "x")
    text = (desk.path / CONFIG).read_text(encoding="utf-8")
    text = text.replace("priority_matrix:", "priority_matrix: [", 1)
    commit_by_hand(desk, CONFIG, text)
    before = tip(desk)
    for args in (("note", tid, "-m", "x"), ("show", tid), ("list",), ("open", "incident", "-s",
                                                                        "y")):
        result = desk(*args)
        assert result.exit_code == 1
        assert f"{CONFIG}: invalid" in result.stderr and "line " in result.stderr
    assert tip(desk) == before
    doctor = desk("doctor")
    assert doctor.exit_code == 1 and CONFIG in doctor.stdout


def test_repairing_the_config_by_hand_restores_service(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "x")
    good = (desk.path / CONFIG).read_text(encoding="utf-8")
    commit_by_hand(desk, CONFIG, good.replace("version: 1", "version: 2", 1))
    assert desk("note", tid, "-m", "x").exit_code == 1
    commit_by_hand(desk, CONFIG, good, "repair")
    desk.ok("note", tid, "-m", "works again")
    assert desk("doctor").exit_code == 0


def test_validation_remembers_only_what_was_valid() -> None:
    """The validator remembers scalars it found valid against a part of a schema;
    an invalid value must fail however often a valid one was checked before."""
    from gitdesk.domain import schema

    good = {"id": "INC-7Q2K9XDM", "uid": "01JDXK6Q2K9XDMT3VY8A0B5C1E", "type": "incident",
            "summary": "Mail down", "status": "new", "created": "2026-11-25T16:21:00Z"}
    first = [str(e) for e in schema.validate("ticket", good)]
    assert [str(e) for e in schema.validate("ticket", good)] == first
    for bad in ({"created": "yesterday"}, {"summary": ""}, {"summary": 7}):
        errors = [str(e) for e in schema.validate("ticket", {**good, **bad})]
        assert len(errors) > len(first), bad
        assert [str(e) for e in schema.validate("ticket", {**good, **bad})] == errors
