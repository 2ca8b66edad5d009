"""Problem management through the CLI: life cycle, known errors, problems from incidents,
publishing workarounds, the KEDB search and hint, and recurring-incident suggestions."""

from __future__ import annotations

import json

import pytest

from support.cli import Gitdesk, data, head, open_at, refused


def links(desk: Gitdesk, tid: str) -> set[tuple[str, str]]:
    return {(link["rel"], link["id"]) for link in data(desk, tid)["links"]}


def changed_files(desk: Gitdesk) -> set[str]:
    out = desk.git("show", "--name-only", "--format=", "HEAD")
    return {line.rsplit("/", 1)[1] for line in out.splitlines() if line}


# --- life cycle ---------------------------------------------------------------------------

def test_problem_life_cycle(desk: Gitdesk) -> None:
    tid = desk.open("problem", "-s", "Web servers leak memory", "--ci", "web01")
    assert tid.startswith("PRB-")
    assert data(desk, tid)["status"] == "new"
    for state in ("assess", "root-cause-analysis", "fix-in-progress"):
        desk.ok("transition", tid, state)
        assert data(desk, tid)["status"] == state
    desk.ok("transition", tid, "root-cause-analysis", "-m", "Fix did not hold")
    desk.ok("transition", tid, "fix-in-progress")
    refused(desk, "resolve", tid, "-m", "Patched", code=1, says=("--code",))
    desk.ok("resolve", tid, "--code", "software-patch", "-m", "Patched httpd")
    assert data(desk, tid)["status"] == "resolved"
    desk.ok("close", tid)
    assert data(desk, tid)["status"] == "closed"
    desk.ok("reopen", tid, "-m", "Leak is back")
    assert data(desk, tid)["status"] == "root-cause-analysis"


@pytest.mark.parametrize(("path", "target"), [
    ((), "fix-in-progress"), ((), "resolved"), ((), "closed"),
    (("assess",), "fix-in-progress"), (("assess", "root-cause-analysis"), "assess"),
    (("cancelled",), "root-cause-analysis"),
])
def test_problem_moves_outside_the_workflow_are_refused(desk: Gitdesk, path: tuple[str, ...],
                                                        target: str) -> None:
    tid = desk.open("problem", "-s", "Flaky DNS")
    for state in path:
        desk.ok("transition", tid, state)
    source = path[-1] if path else "new"
    refused(desk, "transition", tid, target, "--code", "fixed", "-m", "x", code=1,
            says=(f"cannot move from {source} to {target}",))


@pytest.mark.parametrize("state", ["new", "assess", "root-cause-analysis", "fix-in-progress"])
def test_open_problem_can_be_cancelled(desk: Gitdesk, state: str) -> None:
    tid = desk.open("problem", "-s", "Not a problem")
    path = {"new": [], "assess": ["assess"], "root-cause-analysis": ["root-cause-analysis"],
            "fix-in-progress": ["root-cause-analysis", "fix-in-progress"]}[state]
    for step in path:
        desk.ok("transition", tid, step)
    desk.ok("cancel", tid, "-m", "Duplicate")
    assert data(desk, tid)["status"] == "cancelled"


# --- known errors -------------------------------------------------------------------------

def test_known_error_is_set_once_root_cause_and_workaround_are_documented(
        desk: Gitdesk) -> None:
    tid = desk.open("problem", "-s", "Mail queue stalls")
    desk.ok("set", tid, "root_cause=Postfix bug with long headers")
    ticket = data(desk, tid)
    assert ticket["root_cause"] == "Postfix bug with long headers"
    assert ticket["known_error"] is False
    desk.ok("set", tid, "workaround=Flush the queue: postqueue -f")
    ticket = data(desk, tid)
    assert ticket["workaround"] == "Flush the queue: postqueue -f"
    assert ticket["known_error"] is True
    shown = desk.ok("show", tid)
    assert "known error" in shown
    assert "Root cause:" in shown and "Workaround:" in shown
    assert "postqueue -f" in shown
    desk.ok("set", tid, "workaround=")
    ticket = data(desk, tid)
    assert "workaround" not in ticket and ticket["known_error"] is False


def test_workaround_alone_is_not_a_known_error(desk: Gitdesk) -> None:
    tid = desk.open("problem", "-s", "VPN drops")
    desk.ok("set", tid, "workaround=Reconnect", "symptom=Drops every hour")
    ticket = data(desk, tid)
    assert ticket["known_error"] is False and ticket["symptom"] == "Drops every hour"
    desk.ok("set", tid, "root_cause=Key lifetime too short")
    assert data(desk, tid)["known_error"] is True


# --- problems from incidents ---------------------------------------------------------------

def test_open_problem_from_incidents_links_them_in_the_same_commit(desk: Gitdesk) -> None:
    first = desk.open("incident", "-s", "Mail slow", "--ci", "mail01")
    second = desk.open("incident", "-s", "Mail stuck", "--ci", "mail01")
    bystander = desk.open("incident", "-s", "Printer")
    before = desk.commits()
    tid = desk.open("problem", "-s", "Mail queue stalls", "--from", first, "--from", second,
                    "--ci", "mail01")
    assert desk.commits() == before + 1
    assert changed_files(desk) == {f"{t}.yaml" for t in (tid, first, second)}
    assert links(desk, tid) == {("causes", first), ("causes", second)}
    assert links(desk, first) == {("caused-by", tid)}
    assert links(desk, second) == {("caused-by", tid)}
    assert links(desk, bystander) == set()
    assert f"Gitdesk-Ticket: {first}" in desk.git("log", "-1", "--format=%B")


def test_from_is_refused_for_other_types_and_unknown_tickets(desk: Gitdesk) -> None:
    incident = desk.open("incident", "-s", "Mail slow")
    refused(desk, "open", "incident", "-s", "x", "--from", incident, code=2,
            says=("--from links incidents to a new problem",))
    refused(desk, "open", "problem", "-s", "x", "--from", "INC-ZZZZZZZZ", code=1,
            says=("no ticket INC-ZZZZZZZZ",))
    refused(desk, "open", "problem", "-s", "x", "--from", incident, "--from", incident, code=1,
            says=("already has causes",))


@pytest.mark.parametrize("other_type", ["change", "request"])
def test_from_takes_incidents_only(desk: Gitdesk, other_type: str) -> None:
    extra = ("--request-type", "password-reset", "--submitter", "Eva") \
        if other_type == "request" else ()
    other = desk.open(other_type, "-s", "Not an incident", *extra)
    before = head(desk)
    run = desk("open", "problem", "-s", "From the wrong thing", "--from", other)
    assert run.exit_code in (1, 2), f"a problem was opened --from {other}: {run.stdout}"
    assert "incident" in run.stderr
    assert head(desk) == before


# --- publishing a workaround -----------------------------------------------------------------

def test_workaround_is_noted_on_every_open_linked_incident_in_one_commit(
        desk: Gitdesk) -> None:
    waiting = desk.open("incident", "-s", "Mail slow")
    working = desk.open("incident", "-s", "Mail stuck")
    resolved = desk.open("incident", "-s", "Mail late")
    closed = desk.open("incident", "-s", "Mail gone")
    unlinked = desk.open("incident", "-s", "Mail odd")
    desk.ok("transition", waiting, "pending", "--reason", "awaiting-problem")
    desk.ok("transition", working, "in-progress")
    desk.ok("resolve", resolved, "--code", "fixed", "-m", "Done")
    desk.ok("resolve", closed, "--code", "fixed", "-m", "Done")
    desk.ok("close", closed)
    tid = desk.open("problem", "-s", "Mail queue stalls", "--from", waiting, "--from", working,
                    "--from", resolved, "--from", closed)
    untouched = {t: data(desk, t) for t in (resolved, closed, unlinked)}
    before = desk.commits()
    desk.ok("set", tid, "workaround=Flush the queue with postqueue -f")
    assert desk.commits() == before + 1
    assert changed_files(desk) == {f"{t}.yaml" for t in (tid, waiting, working)}
    subject = desk.git("log", "-1", "--format=%s")
    assert waiting in subject and working in subject
    for incident in (waiting, working):
        notes = data(desk, incident)["notes"]
        assert notes[-1]["text"] == f"Workaround from {tid}: Flush the queue with postqueue -f"
        assert notes[-1]["by"] == "test"
    for incident, before_data in untouched.items():
        assert data(desk, incident) == before_data
    desk.ok("set", tid, "root_cause=Postfix bug")
    assert len(data(desk, waiting)["notes"]) == 1, "an unchanged workaround is not resent"


# --- the KEDB --------------------------------------------------------------------------------

def known_error(desk: Gitdesk, summary: str, ci: str, category: str, workaround: str) -> str:
    tid = desk.open("problem", "-s", summary, "--ci", ci, "--category", category)
    desk.ok("set", tid, f"root_cause=Root cause of {summary}", f"workaround={workaround}")
    return tid


def test_kedb_search_ranks_known_errors(desk: Gitdesk) -> None:
    mail = known_error(desk, "Mail queue stalls", "mail01", "Email", "Flush the queue")
    proxy = known_error(desk, "Web proxy stalls", "web01", "Network", "Restart the proxy")
    draft = desk.open("problem", "-s", "Mail queue stalls badly", "--ci", "mail01")
    desk.ok("set", draft, "root_cause=Unknown yet")

    def ranked(*args: str) -> list[str]:
        return [r["id"] for r in json.loads(desk.ok("kedb", "search", *args,
                                                    "--format", "json"))]

    assert ranked("mail queue stalls") == [mail, proxy]
    assert draft not in ranked("mail queue stalls badly")
    assert ranked("stalls", "--ci", "web01") == [proxy, mail]
    assert ranked("stalls", "--ci", "mail01") == [mail, proxy]
    assert ranked("stalls", "--category", "Network") == [proxy, mail]
    assert ranked("stalls", "--category", "email") == [mail, proxy]
    assert ranked("restart proxy") == [proxy]
    assert ranked("printer toner") == []
    rows = json.loads(desk.ok("kedb", "search", "mail queue", "--format", "json"))
    assert rows[0]["workaround"] == "Flush the queue" and rows[0]["score"] > 0
    table = desk.ok("kedb", "search", "stalls")
    assert mail in table and proxy in table and "Flush the queue" in table


def test_open_incident_hints_known_errors_once_the_index_exists(desk: Gitdesk) -> None:
    tid = known_error(desk, "Mail queue stalls", "mail01", "Email", "Flush the queue")
    index = desk.path / ".git" / "gitdesk" / "index.sqlite"
    assert not index.exists()
    first = desk("open", "incident", "-s", "Mail queue stalls again", "--ci", "mail01")
    first.ok()
    assert first.stderr == ""
    assert first.stdout.strip().startswith("INC-")
    desk.ok("list")
    assert index.exists()
    second = desk("open", "incident", "-s", "Mail queue stalls again", "--ci", "mail01")
    second.ok()
    assert second.stdout.strip().startswith("INC-") and "\n" not in second.stdout.strip()
    assert f"hint: known error {tid}: Mail queue stalls" in second.stderr
    assert "Flush the queue" in second.stderr
    unrelated = desk("open", "incident", "-s", "Printer toner empty")
    unrelated.ok()
    assert "known error" not in unrelated.stderr


# --- recurring incidents ------------------------------------------------------------------------

def test_problems_suggest_counts_unlinked_incidents_in_the_window(desk: Gitdesk) -> None:
    web = [open_at(desk, f"2026-03-0{day}T10:00:00+0000", "incident", "-s", f"Web {day}",
                   "--ci", "web01", "--category", "Network") for day in (1, 3, 5)]
    old = open_at(desk, "2026-02-01T10:00:00+0000", "incident", "-s", "Web old", "--ci", "web01",
                  "--category", "Network")
    later = open_at(desk, "2026-03-09T10:00:00+0000", "incident", "-s", "Web later",
                    "--ci", "web01")
    mail = [open_at(desk, f"2026-03-0{day}T12:00:00+0000", "incident", "-s", f"Mail {day}",
                    "--ci", "mail01", "--category", "Email") for day in (2, 3, 4)]
    open_at(desk, "2026-03-04T12:00:00+0000", "change", "-s", "Mail change", "--cis", "mail01")
    desk.ok("open", "problem", "-s", "Mail stalls", "--from", mail[0])

    def suggest(*args: str) -> list[tuple[str, str, int, str]]:
        rows = json.loads(desk.ok("problems", "suggest", "--now", "2026-03-06T00:00:00Z",
                                  "--format", "json", *args))
        return [(r["kind"], r["value"], r["count"], r["incidents"]) for r in rows]

    assert suggest() == [("category", "Network", 3, ", ".join(sorted(web))),
                         ("ci", "web01", 3, ", ".join(sorted(web)))]
    assert suggest("--min", "4") == []
    assert suggest("--min", "2") == [
        ("category", "Network", 3, ", ".join(sorted(web))),
        ("ci", "web01", 3, ", ".join(sorted(web))),
        ("category", "Email", 2, ", ".join(sorted(mail[1:]))),
        ("ci", "mail01", 2, ", ".join(sorted(mail[1:])))]
    wide = suggest("--window", "40d")
    assert ("ci", "web01", 4, ", ".join(sorted([*web, old]))) in wide
    assert later not in json.dumps(wide)
    assert suggest("--window", "2d") == []
    table = desk.ok("problems", "suggest", "--now", "2026-03-06T00:00:00Z")
    assert "web01" in table and "Network" in table and "mail01" not in table


@pytest.mark.parametrize(("args", "says"), [
    (("--window", "a week"), "--window"),
    (("--now", "next tuesday"), "--now"),
    (("--min", "0"), "--min"),
])
def test_problems_suggest_refuses_bad_options(desk: Gitdesk, args: tuple[str, ...],
                                              says: str) -> None:
    run = desk("problems", "suggest", *args)
    assert run.exit_code == 2 and says in run.stderr
