"""Many gitdesk processes on one desk at once: every action lands, exactly once."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from support.cli import Gitdesk
from support.git import fsck

pytestmark = pytest.mark.slow  # every test here runs many gitdesk processes at once

WRITERS = 20


def launch(gitdesk_bin: str, desk: Path, args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([gitdesk_bin, *args], cwd=desk, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def test_twenty_concurrent_writers_each_make_one_commit(desk: Gitdesk, gitdesk_bin: str) -> None:
    tid = desk.open("incident", "-s", "Everybody writes here")
    start = desk.git("rev-parse", "HEAD").strip()
    notes = [f"note {i} from writer {i}" for i in range(0, WRITERS, 2)]
    summaries = [f"opened by writer {i}" for i in range(1, WRITERS, 2)]
    jobs = []
    for i in range(WRITERS):
        if i % 2 == 0:
            args = ["note", tid, "-m", f"note {i} from writer {i}"]
        else:
            args = ["open", "incident", "-s", f"opened by writer {i}"]
        jobs.append((args, launch(gitdesk_bin, desk.path, args)))
    opened: list[str] = []
    for args, proc in jobs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (args, out, err)
        if args[0] == "open":
            assert out.count("\n") == 1
            opened.append(out.strip())

    # exactly 20 new commits, in one line of history
    new = desk.git("rev-list", "--reverse", f"{start}..HEAD").split()
    assert len(new) == WRITERS
    assert desk.git("rev-list", "--merges", f"{start}..HEAD") == ""
    assert desk.git("rev-list", "--first-parent", "--count", f"{start}..HEAD").strip() == \
        str(WRITERS)
    actions = [desk.git("log", "-1", "--format=%(trailers:key=Gitdesk-Action,valueonly)",
                        c).strip() for c in new]
    assert sorted(actions) == sorted(["note"] * len(notes) + ["open"] * len(summaries))

    # every note present, once
    data = json.loads(desk.ok("show", tid, "--format", "json"))
    assert sorted(n["text"] for n in data["notes"]) == sorted(notes)
    ticket_file = desk.git("ls-files", f"tickets/incident/*/{tid}.yaml").strip()
    text = (desk.path / ticket_file).read_text(encoding="utf-8")
    for note in notes:
        assert text.count(note) == 1

    # no duplicate ID; every opened ticket exists with its own summary
    assert len(opened) == len(set(opened)) == len(summaries)
    seen = {json.loads(desk.ok("show", t, "--format", "json"))["summary"] for t in opened}
    assert seen == set(summaries)
    listed = json.loads(desk.ok("list", "--format", "json"))
    assert sorted(r["id"] for r in listed) == sorted([tid, *opened])

    fsck(desk.path)
    assert desk.git("status", "--porcelain", "--untracked-files=all") == ""
    assert desk.git("diff") == "" and desk.git("diff", "--cached") == ""
    assert desk("doctor").exit_code == 0
    # no git lock file (index.lock, refs/heads/main.lock, ...) is left behind
    git_dir = desk.path / ".git"
    leftovers = [p for p in git_dir.rglob("*.lock")
                 if p.name != "gitdesk.lock" and "gitdesk" not in p.relative_to(git_dir).parts]
    assert leftovers == []


def test_concurrent_writers_on_a_bare_repository(tmp_path: Path, gitdesk_bin: str) -> None:
    bare = tmp_path / "desk.git"
    Gitdesk(tmp_path).ok("init", "--bare", str(bare))
    opts = ["--repo", str(bare)]
    first = subprocess.run([gitdesk_bin, *opts, "open", "incident", "-s", "shared"],
                           capture_output=True, text=True, check=True).stdout.strip()
    procs = [launch(gitdesk_bin, tmp_path, [*opts, "note", first, "-m", f"n{i}"])
             for i in range(10)]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    shown = subprocess.run([gitdesk_bin, *opts, "show", first, "--format", "json"],
                           capture_output=True, text=True, check=True).stdout
    assert sorted(n["text"] for n in json.loads(shown)["notes"]) == sorted(
        f"n{i}" for i in range(10))
    count = subprocess.run(["git", "-C", str(bare), "rev-list", "--count", "HEAD"],
                           capture_output=True, text=True, check=True).stdout
    assert int(count) == 12
    fsck(bare)
