#!/usr/bin/env python3
"""Start-up and per-action latency of two gitdesk executables, measured in one run.

Standalone (Python 3.11, stdlib only). The machine is noisy, so the two versions are
interleaved run by run (BEFORE, AFTER, then AFTER, BEFORE, ...) and every figure of one
version has a twin of the other measured moments apart. Each version works on its own copy
of one generated desk (bench/gen_desk.py, 1,000 tickets by default), so both see identical
data; every copy gets the same warm-up first (bytecode cache, config cache, SQLite index).

Timed, --runs times each (default 9), in the desk's checkout (cwd = the copy):

  open incident -s ...          note ID -m ...        transition ID in-progress
  show ID                       list --open (warm index)
  --version, --help             pure start-up

note and transition act on the tickets that the same version opened in the `open` runs;
show reads generated tickets (the same ones for both). It prints the median and the minimum
per version and the AFTER/BEFORE ratio of the medians (and of the minimums).

Examples:
  python bench/compare_versions.py --before /tmp/gd-base/.venv/bin/gitdesk \\
         --after .venv/bin/gitdesk
  # the noise floor: the same executable twice (gen_desk.py of that version's tree)
  python bench/compare_versions.py --before /tmp/gd-base/.venv/bin/gitdesk \\
         --after /tmp/gd-base/.venv/bin/gitdesk --gen-desk /tmp/gd-base/bench/gen_desk.py

bench/gen_desk.py imports gitdesk, so it runs with the interpreter of --after (the tree it
sits in matches that version); --gen-python and --gen-desk choose another pair, --desk
skips the generation and copies an existing desk instead.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ADMIN = ("Desk Admin", "admin@example.org")  # gen_desk.py's admin: the policy's person
END_DATE = "2026-11-20"  # the generated desk's last day (fixed: same desk every time)
ACTIONS = ("open", "note", "transition", "show", "list --open", "--version", "--help")


@dataclass
class Version:
    label: str
    exe: str
    desk: Path
    opened: list[str] = field(default_factory=list)
    seconds: dict[str, list[float]] = field(default_factory=dict)


def environment(scratch: Path) -> dict[str, str]:
    """Isolated git and Python settings: scratch HOME and git config, bytecode cached in
    the scratch directory (as an installation would have it, without touching src/)."""
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    gitconfig = scratch / "gitconfig"
    gitconfig.write_text(f"[user]\n\tname = {ADMIN[0]}\n\temail = {ADMIN[1]}\n"
                         "[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    return {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0", "TZ": "UTC", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "EDITOR": "false", "TMPDIR": str(scratch),
            "PYTHONPYCACHEPREFIX": str(scratch / "pycache")}


def run(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, bytes]:
    """Seconds of wall time and stdout; a failure stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)} in {cwd}\n"
                         f"{proc.stderr.decode('utf-8', 'replace')}")
    return seconds, proc.stdout


def executable(text: str) -> str:
    found = shutil.which(text)
    if found is None:
        raise SystemExit(f"{text}: not an executable")
    return str(Path(found).absolute())


def interpreter_of(exe: str) -> str:
    """The Python of a console script (its #! line), else this one."""
    with open(exe, "rb") as handle:
        first = handle.readline().decode("utf-8", "replace").strip()
    if first.startswith("#!"):
        words = first[2:].split()
        if words and Path(words[0]).name != "env" and Path(words[0]).is_file():
            return words[0]
    return sys.executable


def command(action: str, version: Version, i: int, shown: list[str]) -> list[str]:
    exe = version.exe
    if action == "open":
        return [exe, "open", "incident", "-s", f"Benchmark ticket {i}", "--impact", "medium",
                "--urgency", "low"]
    if action == "note":
        return [exe, "note", version.opened[i], "-m", f"Benchmark note {i}"]
    if action == "transition":
        return [exe, "transition", version.opened[i], "in-progress"]
    if action == "show":
        return [exe, "show", shown[i % len(shown)]]
    if action == "list --open":
        return [exe, "list", "--open"]
    return [exe, action]


def warm(version: Version, env: dict[str, str], shown: list[str]) -> None:
    """The same untimed sequence on every copy: bytecode, config cache, index, one ticket."""
    cwd = version.desk
    run([version.exe, "--version"], cwd, env)
    run([version.exe, "list", "--open"], cwd, env)  # builds the index cold
    _s, out = run([version.exe, "open", "incident", "-s", "Warm-up ticket"], cwd, env)
    tid = out.decode().strip().splitlines()[0]
    run([version.exe, "note", tid, "-m", "Warm-up note"], cwd, env)
    run([version.exe, "transition", tid, "in-progress"], cwd, env)
    run([version.exe, "show", shown[0]], cwd, env)
    run([version.exe, "--help"], cwd, env)
    run([version.exe, "list", "--open"], cwd, env)


def measure(versions: list[Version], env: dict[str, str], runs: int, shown: list[str]) -> None:
    for action in ACTIONS:
        print(f"timing {action} ...", file=sys.stderr, flush=True)
        if action == "list --open":  # the writes moved the tip: bring each index up to date
            for version in versions:
                run(command(action, version, 0, shown), version.desk, env)
        for i in range(runs):
            order = versions if i % 2 == 0 else versions[::-1]
            for version in order:
                seconds, out = run(command(action, version, i, shown), version.desk, env)
                version.seconds.setdefault(action, []).append(seconds)
                if action == "open":
                    version.opened.append(out.decode().strip().splitlines()[0])


def table(versions: list[Version]) -> str:
    before, after = versions
    lines = [f"{'action':<12} | {'BEFORE median':>13} {'min':>7} | {'AFTER median':>12} "
             f"{'min':>7} | {'AFTER/BEFORE':>12} {'(min)':>6}"]
    lines.append("-" * len(lines[0]))
    for action in ACTIONS:
        b, a = before.seconds[action], after.seconds[action]
        bm, am = statistics.median(b) * 1000, statistics.median(a) * 1000
        lines.append(f"{action:<12} | {bm:>10.1f} ms {min(b) * 1000:>7.1f} | {am:>9.1f} ms "
                     f"{min(a) * 1000:>7.1f} | {am / bm:>12.3f} {min(a) / min(b):>6.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the top of this file for what is measured.")
    p.add_argument("--before", required=True, metavar="BIN", help="the old gitdesk executable")
    p.add_argument("--after", required=True, metavar="BIN", help="the new gitdesk executable")
    p.add_argument("--runs", type=int, default=9, help="runs per action and version (9)")
    p.add_argument("--tickets", type=int, default=1000, help="size of the generated desk")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--gen-desk", default=str(BENCH / "gen_desk.py"), metavar="SCRIPT",
                   help="the desk generator (default: bench/gen_desk.py beside this file)")
    p.add_argument("--gen-python", metavar="PY",
                   help="the Python that runs it (default: the interpreter of --after)")
    p.add_argument("--desk", metavar="DIR", help="copy this desk instead of generating one")
    p.add_argument("--work", metavar="DIR", help="scratch directory (default: a new one in "
                                                 "/tmp, removed at the end)")
    opts = p.parse_args(argv)
    if opts.runs < 1:
        p.error("--runs must be at least 1")
    before, after = executable(opts.before), executable(opts.after)
    scratch = Path(opts.work).absolute() if opts.work else \
        Path(tempfile.mkdtemp(prefix="gitdesk-compare-versions-"))
    scratch.mkdir(parents=True, exist_ok=True)
    env = environment(scratch)
    try:
        source = Path(opts.desk).absolute() if opts.desk else scratch / "generated"
        if not opts.desk:
            python = opts.gen_python or interpreter_of(after)
            print(f"generating a {opts.tickets:,}-ticket desk ({python} {opts.gen_desk}) ...",
                  file=sys.stderr, flush=True)
            run([python, opts.gen_desk, "--tickets", str(opts.tickets), "--out", str(source),
                 "--seed", str(opts.seed), "--end", END_DATE, "--force"], scratch, env)
        versions = []
        for label, exe in (("before", before), ("after", after)):
            copy = scratch / label
            if copy.exists():
                shutil.rmtree(copy)
            shutil.copytree(source, copy, symlinks=True)
            shutil.rmtree(copy / ".git" / "gitdesk", ignore_errors=True)  # derived: rebuilt
            versions.append(Version(label, exe, copy))
        names = subprocess.run(["git", "-C", str(source), "ls-tree", "-r", "--name-only",
                                "HEAD", "tickets/"], capture_output=True, check=True,
                               env=env).stdout.decode().split()
        shown = [Path(n).stem for n in random.Random(opts.seed).sample(
            names, min(opts.runs, len(names)))]
        print("warming up both copies ...", file=sys.stderr, flush=True)
        for version in versions:
            warm(version, env, shown)
        load = os.getloadavg()
        started = time.perf_counter()
        measure(versions, env, opts.runs, shown)
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()
        versions_text = {v.label: run([v.exe, "--version"], v.desk, env)[1].decode().strip()
                         for v in versions}
    finally:
        if not opts.work:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"gitdesk BEFORE vs AFTER — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} cores, {len(names):,}-ticket desk, {opts.runs} runs per action "
          f"and version, interleaved; wall ms")
    print(f"  BEFORE: {before} ({versions_text['before']})")
    print(f"  AFTER:  {after} ({versions_text['after']})")
    print(f"  load average {load[0]:.2f} before, {load_after[0]:.2f} after; "
          f"{seconds:.0f} s of timing")
    print()
    print(table(versions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
