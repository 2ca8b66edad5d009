"""A writer killed with SIGKILL at any point leaves a desk the next command can use.

After a kill the branch points at the old tip or at one new, complete commit;
the repository passes `git fsck --strict`; the touched tickets parse; and the
next gitdesk command succeeds within a bounded time (the fcntl lock dies with
its holder, a ref lock older than 10 s is cleared).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitdesk import gitio
from gitdesk.errors import Conflict
from support.cli import Gitdesk, Run, head

NEXT_COMMAND_DEADLINE = 20.0  # > the 10 s after which a stale ref lock is cleared


def assert_old_or_one_new_commit(desk: Gitdesk, before: str) -> str:
    after = head(desk)
    if after != before:
        assert desk.git("rev-parse", f"{after}^").strip() == before
        assert desk.git("rev-list", "--count", f"{before}..{after}").strip() == "1"
    return after


def assert_tickets_parse(desk: Gitdesk, before: str, after: str, always: str) -> None:
    changed = desk.git("diff-tree", "--no-commit-id", "--name-only", "-r", before, after).split()
    tids = {always} | {Path(p).stem for p in changed if p.startswith("tickets/")}
    for tid in tids:
        data = json.loads(desk.ok("show", tid, "--format", "json"))
        assert data["id"] == tid


def next_command_succeeds(desk: Gitdesk, *args: str) -> Run:
    """Run a command until it succeeds; only 'retry later' (exit 3) may delay it."""
    deadline = time.monotonic() + NEXT_COMMAND_DEADLINE
    while True:
        result = desk(*args)
        if result.exit_code == 0:
            return result
        assert result.exit_code == 3, result
        assert time.monotonic() < deadline, f"still refused after {NEXT_COMMAND_DEADLINE}s"
        time.sleep(0.25)


def notes_of(desk: Gitdesk, tid: str) -> list[str]:
    return [n["text"] for n in json.loads(desk.ok("show", tid, "--format", "json"))["notes"]]


def fsck_clean(path: Path) -> None:
    proc = subprocess.run(["git", "-C", str(path), "fsck", "--strict", "--no-progress"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"git fsck --strict: {proc.stdout}{proc.stderr}"


def check_after_kill(desk: Gitdesk, before: str, tid: str, i: int) -> None:
    after = assert_old_or_one_new_commit(desk, before)
    fsck_clean(desk.path)
    assert_tickets_parse(desk, before, after, tid)
    had = notes_of(desk, tid)
    next_command_succeeds(desk, "note", tid, "-m", f"next {i}")
    assert notes_of(desk, tid) == [*had, f"next {i}"]
    assert desk.git("status", "--porcelain", "--untracked-files=all") == ""


@pytest.mark.slow
def test_writers_killed_at_random_points(desk: Gitdesk, gitdesk_bin: str) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    tid = desk.open("incident", "-s", "Killed writers write here")
    for i in range(20):
        before = head(desk)
        if i % 2:
            args = [gitdesk_bin, "open", "incident", "-s", f"killed open {i}"]
        else:
            args = [gitdesk_bin, "note", tid, "-m", f"killed note {i}"]
        proc = subprocess.Popen(args, cwd=desk.path, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        delay = rng.uniform(0.0, 0.4)
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        try:
            check_after_kill(desk, before, tid, i)
        except AssertionError as exc:
            status = desk.git("status", "--porcelain", "--untracked-files=all")
            raise AssertionError(
                f"seed {seed}, round {i}: {args[1]} killed after {delay:.3f}s "
                f"(exit {proc.returncode}), branch {before[:10]} -> {head(desk)[:10]}, "
                f"git status: {status!r}\n{exc}") from exc
    assert desk("doctor").exit_code == 0
    fsck_clean(desk.path)


# --- deterministic kill points -------------------------------------------------------------

DRIVER = """\
import os, signal, sys
from gitdesk import gitio

name, when = sys.argv[1], sys.argv[2]
when, _, nth = when.partition(":")
original = getattr(gitio, name)
home = sys.modules[original.__module__]  # gitio's own calls (update_worktree's writes) look here
calls = []

def killed(*args, **kwargs):
    if nth and "/.git/" in str(args[0]):  # counting working-tree writes only
        return original(*args, **kwargs)
    calls.append(1)
    if len(calls) < int(nth or 1):
        return original(*args, **kwargs)
    if when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    return result

setattr(gitio, name, killed)
setattr(home, name, killed)
from gitdesk.cli.root import main
sys.argv = ["gitdesk", *sys.argv[3:]]
main()
"""


def kill_at(desk: Gitdesk, tmp_path: Path, function: str, when: str, *args: str) -> None:
    driver = tmp_path / "kill_driver.py"
    driver.write_text(DRIVER)
    proc = subprocess.run([sys.executable, str(driver), function, when, *args], cwd=desk.path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, \
        f"kill point {when} gitio.{function} was not reached: {proc.returncode} {proc.stderr}"


KILL_POINTS = [
    ("write_blob", "after", False),
    ("create_commit", "before", False),
    ("cas_update_ref", "before", False),
    ("cas_update_ref", "after", True),
    # the first atomic write is the pending-worktree journal, before the branch moves;
    # ":1" counts writes into the working tree only: the ticket file
    ("atomic_write", "after", False),
    ("atomic_write", "after:1", True),
    ("update_worktree", "after", True),
]


@pytest.mark.parametrize(("function", "when", "lands"), KILL_POINTS,
                         ids=[f"{w}-{f}" for f, w, _ in KILL_POINTS])
def test_kill_point_leaves_a_usable_desk(desk: Gitdesk, tmp_path: Path, function: str,
                                         when: str, lands: bool) -> None:
    tid = desk.open("incident", "-s", "Kill points")
    before = head(desk)
    kill_at(desk, tmp_path, function, when, "note", tid, "-m", "the killed note")
    after = assert_old_or_one_new_commit(desk, before)
    assert (after != before) == lands
    fsck_clean(desk.path)
    assert notes_of(desk, tid) == (["the killed note"] if lands else [])

    result = next_command_succeeds(desk, "note", tid, "-m", "the next note")
    assert result.exit_code == 0
    assert notes_of(desk, tid)[-1] == "the next note"
    assert desk.git("status", "--porcelain", "--untracked-files=all") == ""
    assert desk.git("diff", "HEAD") == ""
    assert desk("doctor").exit_code == 0


@pytest.mark.parametrize(("function", "when"), [("create_commit", "before"),
                                                ("cas_update_ref", "after")])
def test_killed_open_leaves_a_usable_desk(desk: Gitdesk, tmp_path: Path, function: str,
                                          when: str) -> None:
    before = head(desk)
    kill_at(desk, tmp_path, function, when, "open", "incident", "-s", "never printed")
    after = assert_old_or_one_new_commit(desk, before)
    fsck_clean(desk.path)
    created = desk.git("diff-tree", "--no-commit-id", "--name-only", "-r", before, after).split()
    for path in created:
        assert json.loads(desk.ok("show", Path(path).stem, "--format", "json"))["summary"] == \
            "never printed"
    tid = next_command_succeeds(desk, "open", "incident", "-s", "next").stdout.strip()
    assert json.loads(desk.ok("show", tid, "--format", "json"))["summary"] == "next"
    assert desk.git("status", "--porcelain", "--untracked-files=all") == ""


# --- locks left behind ---------------------------------------------------------------------

def test_fresh_ref_lock_is_a_retryable_conflict(desk: Gitdesk) -> None:
    """A git process killed inside update-ref leaves refs/heads/main.lock."""
    tid = desk.open("incident", "-s", "x")
    before = head(desk)
    lock = desk.path / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text(before + "\n")
    result = desk("note", tid, "-m", "blocked")
    assert result.exit_code == 3, result
    assert "retry" in result.stderr
    assert head(desk) == before
    assert desk.git("status", "--porcelain") == ""
    assert notes_of(desk, tid) == []


def test_stale_ref_lock_is_cleared(desk: Gitdesk) -> None:
    tid = desk.open("incident", "-s", "x")
    lock = desk.path / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text(head(desk) + "\n")
    old = time.time() - 11
    os.utime(lock, (old, old))
    desk.ok("note", tid, "-m", "after a stale lock")
    assert not lock.exists()
    assert notes_of(desk, tid) == ["after a stale lock"]
    assert desk.git("status", "--porcelain") == ""


def test_stale_index_lock_never_yields_a_half_done_action(desk: Gitdesk) -> None:
    """A writer killed inside the index write leaves .git/index.lock behind.

    The next command may refuse (exit 3, nothing written) or succeed, but it must
    not commit and then fail, leaving the working tree behind the branch.
    """
    tid = desk.open("incident", "-s", "x")
    before = head(desk)
    (desk.path / ".git" / "index.lock").write_bytes(b"")
    result = desk("note", tid, "-m", "with a stale index lock")
    if result.exit_code == 0:
        (desk.path / ".git" / "index.lock").unlink(missing_ok=True)
        assert desk.git("status", "--porcelain") == ""
    else:
        assert result.exit_code == 3, result
        assert "index.lock" in result.stderr
        assert head(desk) == before


@pytest.mark.parametrize(("lock_age", "journal_age", "cleared"), [
    (11, 12, True),    # made after the dead writer's journal, and stale: its own
    (60, 12, False),   # made before the journal: some other git command's
    (2, 12, False),    # fresh: maybe a git command running now; retry later
])
def test_index_lock_left_by_a_killed_writer(desk: Gitdesk, tmp_path: Path, lock_age: int,
                                            journal_age: int, cleared: bool) -> None:
    """A writer killed inside pygit2's index write leaves .git/index.lock and its
    journal. The next writer removes that lock once it is 10 s old, and only
    if it was made after the journal; otherwise it refuses (exit 3)."""
    tid = desk.open("incident", "-s", "Killed in the index write")
    kill_at(desk, tmp_path, "cas_update_ref", "after", "note", tid, "-m", "the killed note")
    landed = head(desk)
    journal = desk.path / ".git" / "gitdesk" / "worktree-pending.json"
    lock = desk.path / ".git" / "index.lock"
    assert journal.exists()
    lock.write_bytes(b"")
    now = time.time()
    os.utime(journal, (now - journal_age, now - journal_age))
    os.utime(lock, (now - lock_age, now - lock_age))
    result = desk("note", tid, "-m", "the next note")
    if cleared:
        assert result.exit_code == 0, result
        assert not lock.exists()
        assert notes_of(desk, tid) == ["the killed note", "the next note"]
        assert desk.git("status", "--porcelain", "--untracked-files=all") == ""
    else:
        assert result.exit_code == 3, result
        assert "index.lock" in result.stderr
        assert lock.exists()
        assert head(desk) == landed


def hold_lock(path: Path) -> subprocess.Popen[str]:
    code = ("import fcntl, os, sys, time\n"
            f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_lock_of_a_killed_writer_is_released(desk: Gitdesk, gitdesk_bin: str) -> None:
    tid = desk.open("incident", "-s", "x")
    holder = hold_lock(desk.path / ".git" / "gitdesk.lock")
    try:
        waiter = subprocess.Popen([gitdesk_bin, "note", tid, "-m", "waited"], cwd=desk.path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            waiter.wait(timeout=1.0)
        assert notes_of(desk, tid) == []
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    _out, err = waiter.communicate(timeout=25)
    assert waiter.returncode == 0, err
    assert notes_of(desk, tid) == ["waited"]
    assert desk.git("status", "--porcelain") == ""


def test_a_held_lock_times_out_with_a_conflict(desk: Gitdesk) -> None:
    holder = hold_lock(desk.path / ".git" / "gitdesk.lock")
    try:
        repo = gitio.open_repo(desk.path)
        started = time.monotonic()
        with pytest.raises(Conflict) as caught, gitio.write_lock(repo, timeout=0.3):
            pass
        assert time.monotonic() - started < 10
        assert caught.value.exit_code == 3
        assert "gitdesk.lock" in str(caught.value)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    with gitio.write_lock(repo, timeout=5):
        pass
