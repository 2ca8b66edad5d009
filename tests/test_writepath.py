"""The write path: one action, one commit, on real repositories (bare ones too).

Author and dates come from git's own rules (GIT_AUTHOR_* / GIT_COMMITTER_*),
the commit message carries trailers, the working tree and index follow the
branch, and uncommitted edits are never overwritten.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from gitdesk.cli import common as _common
from support.cli import Gitdesk
from support.git import fsck, git


def ticket_path(desk: Gitdesk, tid: str) -> str:
    found = desk.git("ls-files", f"tickets/*/*/{tid}.yaml").split()
    assert len(found) == 1, found
    return found[0]


def show(desk: Gitdesk, tid: str, *extra: str) -> dict:
    return json.loads(desk.ok(*extra, "show", tid, "--format", "json"))


def trailers(path: Path, rev: str, key: str) -> list[str]:
    out = git(path, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev)
    return [line for line in out.splitlines() if line]


def assert_clean(desk: Gitdesk) -> None:
    assert desk.git("status", "--porcelain", "--untracked-files=all") == ""
    assert desk.git("diff") == ""
    assert desk.git("diff", "--cached") == ""


def run_bin(args: list[str], cwd: Path, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


# --- bare repositories ---------------------------------------------------------------------

def test_init_bare_and_work_with_repo_and_branch(tmp_path: Path) -> None:
    bare = tmp_path / "desk.git"
    outside = Gitdesk(tmp_path)
    outside.ok("--branch", "tickets", "init", "--bare", str(bare))
    assert git(bare, "rev-parse", "--is-bare-repository").strip() == "true"
    opts = ("--repo", str(bare), "--branch", "tickets")
    tid = outside.ok(*opts, "open", "incident", "-s", "Server room too warm").strip()
    outside.ok(*opts, "note", tid, "-m", "Door was open")
    outside.ok(*opts, "transition", tid, "in-progress")
    data = show(outside, tid, *opts)
    assert data["status"] == "in-progress"
    assert [n["text"] for n in data["notes"]] == ["Door was open"]
    listed = json.loads(outside.ok(*opts, "list", "--format", "json"))
    assert [r["id"] for r in listed] == [tid]
    assert int(git(bare, "rev-list", "--count", "tickets")) == 4
    assert not (bare / "tickets").exists()
    assert not (tmp_path / "tickets").exists()
    fsck(bare)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--branch", "tickets", str(bare), str(clone)],
                   check=True, capture_output=True)
    files = git(clone, "ls-files", "tickets").split()
    assert len(files) == 1 and files[0].endswith(f"/{tid}.yaml")
    assert "Door was open" in (clone / files[0]).read_text(encoding="utf-8")


def test_bare_clone_of_a_desk_takes_actions(desk: Gitdesk, tmp_path: Path) -> None:
    tid = desk.open("incident", "-s", "VPN drops")
    bare = tmp_path / "server.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(desk.path), str(bare)], check=True,
                   capture_output=True)
    elsewhere = Gitdesk(tmp_path)
    start = int(git(bare, "rev-list", "--count", "HEAD"))
    elsewhere.ok("--repo", str(bare), "note", tid, "-m", "Seen from the server")
    other = elsewhere.ok("--repo", str(bare), "open", "problem", "-s", "VPN keeps dropping")
    elsewhere.ok("--repo", str(bare), "link", tid, "caused-by", other.strip())
    assert int(git(bare, "rev-list", "--count", "HEAD")) == start + 3
    assert show(elsewhere, tid, "--repo", str(bare))["notes"][0]["text"] == \
        "Seen from the server"
    fsck(bare)
    # the non-bare desk did not change
    assert show(desk, tid)["notes"] == []


def test_branch_that_is_not_checked_out_leaves_the_worktree_alone(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Both branches")
    desk.git("branch", "side")
    main_before = desk.git("rev-parse", "main").strip()
    file_before = (desk.path / ticket_path(desk, tid)).read_bytes()
    desk.ok("--branch", "side", "note", tid, "-m", "only on side")
    assert desk.git("rev-parse", "main").strip() == main_before
    assert desk.git("rev-parse", "side~1").strip() == main_before
    assert (desk.path / ticket_path(desk, tid)).read_bytes() == file_before
    assert_clean(desk)
    assert show(desk, tid, "--branch", "side")["notes"][0]["text"] == "only on side"
    assert show(desk, tid)["notes"] == []


# --- identity and dates --------------------------------------------------------------------

BACKDATED = {
    "GIT_AUTHOR_NAME": "Grace Hopper",
    "GIT_AUTHOR_EMAIL": "grace@example.org",
    "GIT_AUTHOR_DATE": "2019-03-04T05:06:07+02:00",
    "GIT_COMMITTER_NAME": "Import Bot",
    "GIT_COMMITTER_EMAIL": "bot@example.org",
    "GIT_COMMITTER_DATE": "2024-01-02T03:04:05Z",
}


def test_backdated_history_from_the_environment(desk: Gitdesk, gitdesk_bin: str) -> None:
    opened = run_bin([gitdesk_bin, "open", "incident", "-s", "Imported", "--impact", "high",
                      "--urgency", "high"], desk.path, BACKDATED)
    assert opened.returncode == 0, opened.stderr
    tid = opened.stdout.strip()
    assert opened.stdout == tid + "\n"
    noted = run_bin([gitdesk_bin, "note", tid, "-m", "From the old system"], desk.path,
                    {**BACKDATED, "GIT_AUTHOR_DATE": "@1551675000 +0000"})
    assert noted.returncode == 0, noted.stderr
    log = desk.git("log", "-2", "--format=%an|%ae|%aI|%cn|%ce|%cI").splitlines()
    assert log == [
        "Grace Hopper|grace@example.org|2019-03-04T04:50:00+00:00|Import Bot|bot@example.org|"
        "2024-01-02T03:04:05+00:00",
        "Grace Hopper|grace@example.org|2019-03-04T05:06:07+02:00|Import Bot|bot@example.org|"
        "2024-01-02T03:04:05+00:00",
    ]
    data = show(desk, tid)
    assert data["created"] == "2019-03-04T03:06:07Z"
    assert data["due"] == "2019-03-04T04:06:07Z"  # critical: 1h
    assert data["notes"] == [{"at": "2019-03-04T04:50:00Z", "by": "Grace Hopper",
                              "text": "From the old system", "internal": False}]
    assert_clean(desk)


def test_author_known_to_the_policy_is_recorded_by_person_id(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "x")
    desk.ok("note", tid, "-m", "by the admin", env={"GIT_AUTHOR_DATE": "2021-06-01T12:00:00Z"})
    note = show(desk, tid)["notes"][0]
    assert note == {"at": "2021-06-01T12:00:00Z", "by": "test", "text": "by the admin",
                    "internal": False}
    assert desk.git("log", "-1", "--format=%an <%ae>").strip() == "Test User <test@example.org>"


def test_unknown_identity_is_refused(desk: Gitdesk, tmp_path: Path) -> None:
    tid = desk.open("incident", "-s", "x")
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    before = desk.git("rev-parse", "HEAD")
    result = desk("note", tid, "-m", "who am I", env={"GIT_CONFIG_GLOBAL": str(empty),
                                                      "EMAIL": "", "GIT_AUTHOR_NAME": ""})
    assert result.exit_code == 1, result
    assert "identity" in result.stderr or "who you are" in result.stderr
    assert desk.git("rev-parse", "HEAD") == before


# --- commit messages -----------------------------------------------------------------------

def test_commit_messages_carry_trailers(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Web server not rendering pages")
    subject = desk.git("log", "-1", "--format=%s").strip()
    assert subject == f"{tid}: open — Web server not rendering pages"
    assert trailers(desk.path, "HEAD", "Gitdesk-Action") == ["open"]
    assert trailers(desk.path, "HEAD", "Gitdesk-Ticket") == [tid]

    desk.ok("note", tid, "-m", "Restarted httpd")
    assert trailers(desk.path, "HEAD", "Gitdesk-Action") == ["note"]
    assert trailers(desk.path, "HEAD", "Gitdesk-Ticket") == [tid]
    assert trailers(desk.path, "HEAD", "Gitdesk-From") == []

    desk.ok("transition", tid, "in-progress")
    assert trailers(desk.path, "HEAD", "Gitdesk-Action") == ["transition"]
    assert trailers(desk.path, "HEAD", "Gitdesk-From") == ["new"]
    assert trailers(desk.path, "HEAD", "Gitdesk-To") == ["in-progress"]

    desk.ok("resolve", tid, "--code", "workaround", "-m", "Service restarted")
    assert trailers(desk.path, "HEAD", "Gitdesk-From") == ["in-progress"]
    assert trailers(desk.path, "HEAD", "Gitdesk-To") == ["resolved"]
    assert desk.git("log", "-1", "--format=%s").strip() == \
        f"{tid}: resolve — Service restarted"

    prb = desk.open("problem", "-s", "httpd leaks memory")
    desk.ok("link", tid, "caused-by", prb)
    assert trailers(desk.path, "HEAD", "Gitdesk-Action") == ["link"]
    assert sorted(trailers(desk.path, "HEAD", "Gitdesk-Ticket")) == sorted([tid, prb])
    parsed = subprocess.run(["git", "interpret-trailers", "--parse"], cwd=desk.path, text=True,
                            input=desk.git("log", "-1", "--format=%B"), capture_output=True,
                            check=True).stdout
    assert "Gitdesk-Action: link" in parsed


def test_a_summary_cannot_forge_trailers_or_lines(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "x\n\nGitdesk-Action: close\nGitdesk-To: closed")
    assert trailers(desk.path, "HEAD", "Gitdesk-Action") == ["open"]
    assert trailers(desk.path, "HEAD", "Gitdesk-To") == []
    assert trailers(desk.path, "HEAD", "Gitdesk-Ticket") == [tid]
    assert len(desk.git("log", "-1", "--format=%s").splitlines()) == 1


# --- working tree and index ----------------------------------------------------------------

def test_worktree_and_index_follow_every_action(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Mail queue stuck", "--impact", "low")
    prb = desk.open("problem", "-s", "Queue runner")
    steps = [
        ("note", tid, "-m", "Flushed the queue"),
        ("assign", tid, "test", "--group", "network"),
        ("set", tid, "urgency=high", "ci=mail01"),
        ("transition", tid, "in-progress"),
        ("link", tid, "caused-by", prb),
        ("unlink", tid, "caused-by", prb),
        ("resolve", tid, "--code", "fixed", "-m", "Done"),
        ("close", tid),
    ]
    for step in steps:
        desk.ok(*step)
        assert_clean(desk)
        assert desk.git("diff-files", "--name-only") == ""
        for path in (ticket_path(desk, tid), ticket_path(desk, prb)):
            assert (desk.path / path).read_text(encoding="utf-8") == \
                desk.git("show", f"HEAD:{path}")


@pytest.mark.parametrize("stage", [False, True], ids=["unstaged", "staged"])
def test_uncommitted_edits_make_the_command_refuse(desk: Gitdesk, stage: bool) -> None:
    tid = desk.open("incident", "-s", "Edited by hand")
    path = ticket_path(desk, tid)
    target = desk.path / path
    edited = target.read_text(encoding="utf-8").replace("Edited by hand", "My own words")
    target.write_text(edited, encoding="utf-8")
    if stage:
        desk.git("add", path)
    before = desk.git("rev-parse", "HEAD")
    status = desk.git("status", "--porcelain")
    for args in (("note", tid, "-m", "x"), ("set", tid, "urgency=low"),
                 ("transition", tid, "in-progress")):
        result = desk(*args)
        assert result.exit_code == 1, (args, result)
        assert "uncommitted edits" in result.stderr and path in result.stderr
        assert desk.git("rev-parse", "HEAD") == before
        assert target.read_text(encoding="utf-8") == edited
        assert desk.git("status", "--porcelain") == status


def test_staged_edit_with_a_clean_file_still_refuses(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Staged only")
    path = ticket_path(desk, tid)
    target = desk.path / path
    original = target.read_text(encoding="utf-8")
    target.write_text(original + "# staged comment\n", encoding="utf-8")
    desk.git("add", path)
    target.write_text(original, encoding="utf-8")
    before = desk.git("rev-parse", "HEAD")
    result = desk("note", tid, "-m", "x")
    assert result.exit_code == 1 and path in result.stderr
    assert desk.git("rev-parse", "HEAD") == before
    assert "# staged comment" in desk.git("show", f":{path}")


def test_deleted_file_in_worktree_refuses(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Deleted by hand")
    path = ticket_path(desk, tid)
    (desk.path / path).unlink()
    before = desk.git("rev-parse", "HEAD")
    result = desk("note", tid, "-m", "x")
    assert result.exit_code == 1 and path in result.stderr
    assert desk.git("rev-parse", "HEAD") == before
    assert not (desk.path / path).exists()


def test_edits_elsewhere_do_not_block(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "Mine")
    other = desk.open("incident", "-s", "Someone else's")
    other_path = desk.path / ticket_path(desk, other)
    other_path.write_text(other_path.read_text(encoding="utf-8") + "# wip\n", encoding="utf-8")
    (desk.path / "notes.txt").write_text("scratch\n", encoding="utf-8")
    desk.ok("note", tid, "-m", "works")
    assert show(desk, tid)["notes"][0]["text"] == "works"
    assert other_path.read_text(encoding="utf-8").endswith("# wip\n")
    assert sorted(desk.git("status", "--porcelain").splitlines()) == sorted(
        [f" M {ticket_path(desk, other)}", "?? notes.txt"])


# --- links and derived values --------------------------------------------------------------

def test_link_and_unlink_write_both_ends_in_one_commit(desk: Gitdesk) -> None:
    inc = desk.open("incident", "-s", "Site down")
    prb = desk.open("problem", "-s", "Load balancer flaps")
    start = desk.commits()
    desk.ok("link", inc, "caused-by", prb)
    assert desk.commits() == start + 1
    changed = sorted(desk.git("show", "--name-only", "--format=", "HEAD").split())
    assert changed == sorted([ticket_path(desk, inc), ticket_path(desk, prb)])
    assert show(desk, inc)["links"] == [{"rel": "caused-by", "id": prb}]
    assert show(desk, prb)["links"] == [{"rel": "causes", "id": inc}]

    again = desk("link", inc, "caused-by", prb)
    assert again.exit_code == 1 and desk.commits() == start + 1

    desk.ok("unlink", prb, "causes", inc)
    assert desk.commits() == start + 2
    changed = sorted(desk.git("show", "--name-only", "--format=", "HEAD").split())
    assert changed == sorted([ticket_path(desk, inc), ticket_path(desk, prb)])
    assert show(desk, inc)["links"] == []
    assert show(desk, prb)["links"] == []
    assert_clean(desk)
    assert desk("doctor").exit_code == 0


def test_open_with_link_writes_both_ends_in_one_commit(desk: Gitdesk) -> None:
    prb = desk.open("problem", "-s", "Root cause")
    start = desk.commits()
    inc = desk.open("incident", "-s", "Symptom", "--link", f"caused-by:{prb}")
    assert desk.commits() == start + 1
    assert show(desk, prb)["links"] == [{"rel": "causes", "id": inc}]
    assert show(desk, inc)["links"] == [{"rel": "caused-by", "id": prb}]


def test_set_rederives_priority_and_due(desk: Gitdesk) -> None:
    tid = desk.ok("open", "incident", "-s", "x", "--impact", "high", "--urgency", "high",
                  env={"GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z"}).strip()
    data = show(desk, tid)
    assert (data["priority"], data["created"], data["due"]) == \
        ("critical", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
    expectations = [
        (("urgency=low",), "medium", "2026-01-02T00:00:00Z"),       # 24h
        (("impact=medium",), "low", "2026-01-03T00:00:00Z"),        # 48h
        (("impact=low",), "planning", None),                        # no target
        (("impact=high", "urgency=medium"), "high", "2026-01-01T08:00:00Z"),
    ]
    for pairs, priority, due in expectations:
        desk.ok("set", tid, *pairs)
        data = show(desk, tid)
        assert data["priority"] == priority, pairs
        assert data.get("due") == due, pairs
        assert data["created"] == "2026-01-01T00:00:00Z"
    desk.ok("set", tid, "priority=low")
    desk.ok("set", tid, "urgency=high")
    data = show(desk, tid)
    assert (data["priority"], data["due"]) == ("low", "2026-01-03T00:00:00Z")
    desk.ok("set", tid, "priority=")
    data = show(desk, tid)
    assert (data["priority"], data["due"]) == ("critical", "2026-01-01T01:00:00Z")
    assert "priority_override" not in data
    bad = desk("set", tid, "urgency=whenever")
    assert bad.exit_code == 2 and "--urgency" in bad.stderr


# --- required values, prompts and the editor -----------------------------------------------

def test_missing_summary_without_a_terminal_is_an_error_naming_the_flag(desk: Gitdesk) -> None:
    """DESIGN section 6: an error (exit 1) whose message names the flag."""
    before = desk.commits()
    result = desk("open", "incident")
    assert result.exit_code == 1
    assert "--summary" in result.stderr
    assert result.stdout == ""
    tid = desk.open("incident", "-s", "x")
    result = desk("note", tid)
    assert result.exit_code == 1 and "--message" in result.stderr
    result = desk("note", tid, "-m", "   ")
    assert result.exit_code in (1, 2) and "empty" in result.stderr
    assert desk.commits() == before + 1


def test_missing_summary_is_prompted_for_on_a_terminal(desk: Gitdesk,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common, "interactive", lambda: True)
    result = desk("open", "incident", "--impact", "low", input="Typed at the prompt\n")
    assert result.exit_code == 0, result
    tid = result.stdout.strip().splitlines()[-1]
    assert tid.startswith("INC-")
    assert show(desk, tid)["summary"] == "Typed at the prompt"
    result = desk("note", tid, input="A typed note\n")
    assert result.exit_code == 0, result
    assert show(desk, tid)["notes"][0]["text"] == "A typed note"
    before = desk.commits()
    result = desk("note", tid, input="\n")
    assert result.exit_code != 0
    assert desk.commits() == before


def test_prompt_goes_to_stderr_so_stdout_is_only_the_id(desk: Gitdesk,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`id=$(gitdesk open incident)` on a terminal: the prompt must not end up in $id."""
    monkeypatch.setattr(_common, "interactive", lambda: True)
    result = desk("open", "incident", input="Typed\n")
    assert result.exit_code == 0, result
    assert "Summary" in result.stderr
    assert "Summary" not in result.stdout


def write_editor(tmp_path: Path, text: str) -> str:
    """An $EDITOR that appends text (a printf format) to the file it is given."""
    script = tmp_path / "fake-editor"
    script.write_text(f"#!/bin/sh\nprintf '{text}' >> \"$1\"\n")
    script.chmod(0o755)
    return str(script)


def test_edit_writes_the_description_in_editor(desk: Gitdesk, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", write_editor(tmp_path, "Line one\\nLine two\\n"))
    tid = desk.open("incident", "-s", "Edited", "-e")
    assert show(desk, tid)["description"] in ("Line one\nLine two\n", "Line one\nLine two")
    tid = desk.open("incident", "-s", "Edited", "-e", "-d", "Start")
    assert show(desk, tid)["description"] in ("Start\nLine one\nLine two\n",
                                              "Start\nLine one\nLine two")
    assert_clean(desk)


def test_failing_editor_writes_nothing(desk: Gitdesk) -> None:
    before = desk.commits()
    result = desk("open", "incident", "-s", "x", "-e")  # EDITOR=false (conftest)
    assert result.exit_code != 0
    assert desk.commits() == before


# --- the installed scripts -----------------------------------------------------------------

def test_installed_console_scripts(desk: Gitdesk, gitdesk_bin: str) -> None:
    bindir = str(Path(gitdesk_bin).parent)
    env = {"PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    opened = run_bin([gitdesk_bin, "open", "incident", "-s", "From the console script"],
                     desk.path, env)
    assert opened.returncode == 0, opened.stderr
    tid = opened.stdout.strip()
    assert opened.stdout == f"{tid}\n"
    noted = run_bin(["git", "desk", "note", tid, "-m", "via git desk"], desk.path, env)
    assert noted.returncode == 0, noted.stderr
    shown = run_bin(["git", "desk", "show", tid, "--format", "json"], desk.path, env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["notes"][0]["text"] == "via git desk"
    bad = run_bin([gitdesk_bin, "show", "INC-ZZZZZZZZ"], desk.path, env)
    assert bad.returncode == 1 and "no ticket INC-ZZZZZZZZ" in bad.stderr and bad.stdout == ""
    usage = run_bin([gitdesk_bin, "open"], desk.path, env)
    assert usage.returncode == 2
    assert_clean(desk)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_gitdesk_writes_follow_the_umask(desk: Gitdesk, umask: int, mode: int) -> None:
    """Ticket and config files in the working tree and reports written with -o get
    the permissions git would give them (0666 minus the umask), not mkstemp's 0600."""
    old = os.umask(umask)
    try:
        from gitdesk.gitio import worktree
        worktree._umask.cache_clear()
        tid = desk.open("incident", "-s", "Mail delayed")
        desk.ok("note", tid, "-m", "looked at it")
        desk.ok("report", "summary", "-o", "summary.txt")
    finally:
        os.umask(old)
        worktree._umask.cache_clear()
    ticket = next((desk.path / "tickets" / "incident").rglob(f"{tid}.yaml"))
    for path in (ticket, desk.path / "summary.txt"):
        assert path.stat().st_mode & 0o777 == mode, (path, oct(path.stat().st_mode))
