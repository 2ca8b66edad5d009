#!/usr/bin/env python3
"""`gitdesk sync` against `git pull` with gitdesk's merge driver, at 100,000 tickets.

Run with the Python of the venv that has gitdesk installed. Setup (once; `--keep` reuses it):

  1. bench/gen_desk.py makes a --tickets desk (default 100,000) and its bare clone, the
     "server" (work/server.git); clones A and B are `git clone`s of it.
  2. A notes --changes tickets (default 500) and pushes; B notes --changes tickets of which
     --overlap (default 200) are A's, and does not push. Each side writes --cli-notes
     (default 3) of its notes with `gitdesk note` (one commit each, tickets of the overlap)
     and the rest in one commit through gitdesk's own `note` rule and commit path
     (Desk.commit: the same rule, dump and verifier as `gitdesk note`), so every changed
     file is what `gitdesk note` writes. B runs `gitdesk doctor --fix` (the merge driver).
  3. The server after A's push and clone B are kept as they are (work/server-after-A.git,
     work/B).

Timed, --runs times each (default 3), interleaved (the order flips every run), each run on a
fresh copy of B (`cp -a`, then an untimed `git update-index --refresh`, since a copy has new
inodes) and of the server:

  sync   gitdesk sync                                   (fetch, merge, verify, push)
  pull   git pull --no-rebase origin main; git push origin main   (the driver runs once
         per ticket both sides changed)

Both must leave the same ticket files (`git ls-tree -r HEAD tickets` equal in every run), the
server at the clone's new tip, and both notes in every ticket of the overlap.

`--phases` adds one run of sync with its steps timed in process (fetch, merge, create
commit, anchor, verify, dirty check, land, push: the top-level calls `gitdesk.actions.sync`
makes, no profiler), one under cProfile (top functions), and `-X importtime`.

  python bench/bench_sync.py --phases                  # about 10 minutes on 2 cores
  python bench/bench_sync.py --keep --runs 5           # time again on the same desk
  python bench/bench_sync.py --tickets 10000 --changes 100 --overlap 40
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_merge_driver import (
    GITDESK,
    OUT,
    Series,
    at,
    environment,
    notes_commit,
    sh,
)

BENCH = Path(__file__).resolve().parent
T_A = datetime(2030, 1, 5, 9, 0, tzinfo=UTC)   # A's notes
T_B = datetime(2030, 1, 5, 10, 0, tzinfo=UTC)  # B's notes
T_M = datetime(2030, 1, 5, 11, 0, tzinfo=UTC)  # the merges


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    return sh(["git", *args], cwd, env).decode()


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------- setup

def side(clone: Path, env: dict[str, str], tids: list[str], cli: list[str], label: str,
         when: datetime) -> str:
    for k, tid in enumerate(cli):
        sh([GITDESK, "note", tid, "-m", f"{label}: looked at it ({tid})"], clone,
           at(env, when + timedelta(seconds=k)))
    rest = [t for t in tids if t not in cli]
    return notes_commit(clone, rest, f"{label}: looked at it", when + timedelta(minutes=1),
                        env)


def setup(work: Path, env: dict[str, str], opts: argparse.Namespace) -> dict[str, Any]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    server = work / "server.git"
    started = time.perf_counter()
    log(f"generating a {opts.tickets:,}-ticket desk ...")
    sh([sys.executable, str(BENCH / "gen_desk.py"), "--tickets", str(opts.tickets),
        "--out", str(work / "gen"), "--bare", "--bare-out", str(server), "--seed",
        str(opts.seed), "--end", "2029-12-31", "--force"], work, env)
    shutil.rmtree(work / "gen")
    t_gen = time.perf_counter() - started
    log("cloning A and B ...")
    for name in ("A", "B"):
        git(work, env, "clone", "-q", str(server), name)
    names = git(work / "A", env, "ls-tree", "-r", "--name-only", "HEAD", "tickets/").split()
    rng = random.Random(opts.seed)
    picked = [Path(n).stem for n in rng.sample(names, 2 * opts.changes - opts.overlap)]
    a_tids = picked[:opts.changes]
    b_tids = a_tids[:opts.overlap] + picked[opts.changes:]
    log("A: notes, push ...")
    t0 = time.perf_counter()
    side(work / "A", env, a_tids, a_tids[:opts.cli_notes], "A", T_A)
    t_a = time.perf_counter() - t0
    git(work / "A", env, "push", "-q", "origin", "main")
    shutil.copytree(server, work / "server-after-A.git", symlinks=True)
    log("B: notes, doctor --fix ...")
    side(work / "B", env, b_tids, b_tids[opts.cli_notes:2 * opts.cli_notes], "B", T_B)
    t0 = time.perf_counter()
    sh([GITDESK, "doctor", "--fix"], work / "B", env)
    t_doctor = time.perf_counter() - t0
    driver = git(work / "B", env, "config", "merge.gitdesk.driver").strip()
    state = {"tickets": len(names), "changes": opts.changes, "overlap": opts.overlap,
             "a": a_tids, "b": b_tids, "driver": driver,
             "commits": int(git(work / "B", env, "rev-list", "--count", "HEAD").strip()),
             "a_tip": git(work / "A", env, "rev-parse", "HEAD").strip(),
             "b_tip": git(work / "B", env, "rev-parse", "HEAD").strip(),
             "generate_s": round(t_gen, 1), "side_a_s": round(t_a, 1),
             "doctor_s": round(t_doctor, 1)}
    (work / "setup.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
    return state


# ------------------------------------------------------------------------- runs

def fresh(work: Path, env: dict[str, str]) -> Path:
    """A new copy of B and of the server (the server at the same path B's origin names)."""
    run = work / "run"
    for target in (run, work / "server.git"):
        if target.exists():
            shutil.rmtree(target)
    sh(["cp", "-a", str(work / "server-after-A.git"), str(work / "server.git")], work, env)
    sh(["cp", "-a", str(work / "B"), str(run)], work, env)
    sh(["git", "update-index", "-q", "--refresh"], run, env)
    return run


def tickets_listing(run: Path, env: dict[str, str]) -> str:
    out = sh(["git", "ls-tree", "-r", "HEAD", "tickets"], run, env)
    return hashlib.sha256(out).hexdigest()


def check_run(run: Path, work: Path, env: dict[str, str], state: dict[str, Any]) -> str:
    from gitdesk.yaml.ticket import parse_blob

    head = git(run, env, "rev-parse", "HEAD").strip()
    served = git(work / "server.git", env, "rev-parse", "refs/heads/main").strip()
    if head != served:
        raise SystemExit(f"the server is at {served[:10]}, the clone at {head[:10]}")
    parents = git(run, env, "rev-list", "--parents", "-n1", "HEAD").split()
    if parents[1:] != [state["b_tip"], state["a_tip"]]:
        raise SystemExit(f"HEAD is not the merge of B and A: {parents}")
    overlap = state["a"][:state["overlap"]]
    paths = git(run, env, "ls-tree", "-r", "--name-only", "HEAD^", "tickets/").split()
    by_id = {Path(p).stem: p for p in paths}
    for tid in overlap:
        data = sh(["git", "show", f"HEAD:{by_id[tid]}"], run, env)
        texts = " | ".join(n["text"] for n in parse_blob(data, by_id[tid])["notes"])
        if f"A: looked at it ({tid})" not in texts or f"B: looked at it ({tid})" not in texts:
            raise SystemExit(f"{by_id[tid]}: a side's note is missing: {texts}")
    return tickets_listing(run, env)


def timed_runs(work: Path, env: dict[str, str], state: dict[str, Any],
               runs: int) -> tuple[dict[str, Series], dict[str, set[str]]]:
    series = {k: Series() for k in ("sync", "pull+push", "pull", "push")}
    listings: dict[str, set[str]] = {"sync": set(), "pull": set()}
    menv = at(env, T_M)
    for i in range(runs):
        for which in (("sync", "pull") if i % 2 == 0 else ("pull", "sync")):
            run = fresh(work, env)
            log(f"run {i + 1}/{runs}: {which} ...")
            if which == "sync":
                series["sync"].timed([GITDESK, "sync"], run, menv)
            else:
                start = time.perf_counter()
                series["pull"].timed(["git", "pull", "-q", "--no-rebase", "--no-edit",
                                      "origin", "main"], run, menv)
                series["push"].timed(["git", "push", "-q", "origin", "main"], run, menv)
                series["pull+push"].wall.append(time.perf_counter() - start)
                series["pull+push"].cpu.append(series["pull"].cpu[-1] + series["push"].cpu[-1])
            listings[which].add(check_run(run, work, env, state))
    return series, listings


# ------------------------------------------------------------------------- phases

PHASES = r"""
import json, sys, time
started = time.time()
from gitdesk import gitio
import gitdesk.actions.sync as s
import gitdesk.gitio.remote as r
import gitdesk.store.merging as m
spent, depth = {}, [0]
def wrap(owner, name, label):
    inner = getattr(owner, name)
    def timed(*a, **k):
        if depth[0]:
            return inner(*a, **k)
        depth[0] += 1
        t = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - t
            depth[0] -= 1
    setattr(owner, name, timed)
for owner, name, label in [
        (r, "fetch", "fetch"), (r, "push", "push"), (gitio, "ref_target", "refs"),
        (gitio, "descends_from", "ancestry (is-ancestor)"), (gitio, "merge_base", "merge base"),
        (gitio, "identity", "identity (git var)"), (m, "merge_tips", "merge tickets (merge_tips)"),
        (gitio, "create_commit", "create commit"), (s, "anchor_of", "anchor lookup (anchor_of)"),
        (s, "verify_commit", "verify the merge (verify_commit)"),
        (gitio, "get_commit", "read commits"), (gitio, "changed_blobs", "changed paths"),
        (gitio, "dirty_paths", "dirty check (dirty_paths)"),
        (s, "land", "land (update-ref + read-tree -m -u)")]:
    wrap(owner, name, label)
inner_sync = s.sync
def sync(*a, **k):
    spent["start-up until sync() (imports, click, open desk)"] = time.time() - started
    t = time.perf_counter()
    try:
        return inner_sync(*a, **k)
    finally:
        spent["sync() total"] = time.perf_counter() - t
s.sync = sync
sys.argv = ["gitdesk", "sync"]
from gitdesk.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stderr.write("PHASES " + json.dumps(spent) + "\n")
sys.exit(code)
"""


def phases(work: Path, env: dict[str, str], state: dict[str, Any]) -> str:
    menv = at(env, T_M)
    lines = ["Where sync's time goes (one run each, fresh copies):", ""]
    run = fresh(work, env)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PHASES], cwd=run, env=menv,
                          capture_output=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.decode("utf-8", "replace"))
    check_run(run, work, env, state)
    said = proc.stderr.decode("utf-8", "replace")
    spent = json.loads(said.split("PHASES ", 1)[1].splitlines()[0])
    total = spent.pop("sync() total")
    startup = spent.pop("start-up until sync() (imports, click, open desk)")
    lines.append(f"{'step':<44} {'ms':>9} {'share':>6}")
    lines.append(f"{'process wall (python -c, instrumented)':<44} {wall * 1000:>9.0f} "
                 f"{100:>5.0f}%")
    lines.append(f"{'start-up until sync() (interpreter, imports)':<44} {startup * 1000:>9.0f} "
                 f"{startup / wall * 100:>5.0f}%")
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        lines.append(f"{label:<44} {seconds * 1000:>9.0f} {seconds / wall * 100:>5.0f}%")
    other = total - sum(spent.values())
    lines.append(f"{'other in sync()':<44} {other * 1000:>9.0f} {other / wall * 100:>5.0f}%")
    rest = wall - startup - total
    lines.append(f"{'rest (interpreter start, output, exit)':<44} {rest * 1000:>9.0f} "
                 f"{rest / wall * 100:>5.0f}%")
    lines.append("")

    run = fresh(work, env)
    prof = work / "sync.prof"
    sh([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "gitdesk", "sync"], run, menv)
    check_run(run, work, env, state)
    import io
    import pstats

    text = io.StringIO()
    stats = pstats.Stats(str(prof), stream=text)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)
    (work / "sync-profile.txt").write_text(text.getvalue(), encoding="utf-8")
    lines.append(f"cProfile of one run: {work / 'sync-profile.txt'}")

    proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import gitdesk.cli.root, gitdesk.cli.commands.sync"],
                          cwd=work, env=env, capture_output=True, check=True)
    spent_by: dict[str, int] = {}
    for line in proc.stderr.decode().splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            top = parts[2].strip().split(".")[0]
            spent_by[top] = spent_by.get(top, 0) + int(parts[0])
    rows = sorted(((us, name) for name, us in spent_by.items()), reverse=True)
    top = ", ".join(f"{name} {us / 1000:.0f}" for us, name in rows[:8])
    lines.append(f"-X importtime of the sync command's modules, self time by top package "
                 f"(ms): {top}; all {sum(us for us, _ in rows) / 1000:.0f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the top of this file for what is measured.")
    p.add_argument("--tickets", type=int, default=100_000)
    p.add_argument("--changes", type=int, default=500, help="tickets noted by each side (500)")
    p.add_argument("--overlap", type=int, default=200, help="of those, noted by both (200)")
    p.add_argument("--cli-notes", type=int, default=3,
                   help="notes per side written by `gitdesk note` processes (3)")
    p.add_argument("--runs", type=int, default=3, help="timed runs of each (3)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--phases", action="store_true",
                   help="also time sync's steps, profile it, and its imports")
    p.add_argument("--keep", action="store_true", help="reuse the desk and clones of --work")
    p.add_argument("--work", default=str(OUT / "sync"), metavar="DIR",
                   help="scratch directory (default bench/out/sync)")
    opts = p.parse_args(argv)
    if not 0 <= opts.overlap <= opts.changes or 2 * opts.cli_notes > opts.overlap:
        p.error("need 0 <= --overlap <= --changes and 2 * --cli-notes <= --overlap")
    work = Path(opts.work).absolute()
    env = environment(work.with_name(work.name + "-env"))  # outside work: setup replaces it
    if opts.keep and (work / "setup.json").exists():
        state = json.loads((work / "setup.json").read_text("utf-8"))
    else:
        state = setup(work, env, opts)
    load = os.getloadavg()
    series, listings = timed_runs(work, env, state, opts.runs)
    load_after = os.getloadavg()
    extra = phases(work, env, state) if opts.phases else ""
    version = sh([GITDESK, "--version"], work, env).decode().strip()
    gitv = sh(["git", "--version"], work, env).decode().strip()
    same = listings["sync"] == listings["pull"] and len(listings["sync"]) == 1
    print(f"gitdesk sync vs git pull + push — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} cores, {version}, {gitv}")
    print(f"  desk: {state['tickets']:,} tickets, {state['commits']:,} commits on B; each side "
          f"noted {state['changes']} tickets, {state['overlap']} of them the same; "
          f"load average {load[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"  setup: generation {state['generate_s']} s, A's notes {state['side_a_s']} s, "
          f"doctor --fix on B {state['doctor_s']} s; driver: {state['driver']}")
    print()
    header = f"{'command':<36} | {'median':>9} {'min':>9} {'max':>9} {'cpu':>9} | runs (s)"
    print(header)
    print("-" * len(header))
    for name, label in (("sync", "gitdesk sync"),
                        ("pull+push", "git pull --no-rebase + git push"),
                        ("pull", "  of which git pull (driver)"),
                        ("push", "  of which git push")):
        s = series[name]
        runs = " ".join(f"{w:.2f}" for w in s.wall)
        print(f"{label:<36} | {statistics.median(s.wall):>8.2f}s {min(s.wall):>8.2f}s "
              f"{max(s.wall):>8.2f}s {statistics.median(s.cpu):>8.2f}s | {runs}")
    ratio = statistics.median(series["sync"].wall) / statistics.median(series["pull+push"].wall)
    print()
    print(f"sync / (pull + push), medians: {ratio:.2f}; ticket files identical "
          f"(git ls-tree -r HEAD tickets, every run of both): {'yes' if same else 'NO'}")
    if extra:
        print()
        print(extra)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
