"""Time `gitdesk import servicenow` on the whole UCI event log, beside `git log --raw`.

Creates a fresh desk (`gitdesk init`, itil template) in a temporary directory
(or --out), runs the import as a user would (the installed `gitdesk` console
script), then times `git log --raw --no-renames -z` over the history it made:
the cost of merely reading that history once, as a baseline. Prints the
import's wall and CPU time, rows/s and commits/s, the baseline and the ratio,
and the DESIGN.md budget (the full log under 5 minutes).

The log: UCI Machine Learning Repository data set #498, "Incident management
process enriched event log" (Amaral, Fantinato, Peres; CC BY 4.0).

Examples:
  python bench/bench_import.py /work/shared/data/servicenow_incident_event_log.zip
  python bench/bench_import.py incident_event_log.csv --checkout --out /tmp/sn-desk
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 300.0
ENV = {"GIT_AUTHOR_NAME": "Bench Importer", "GIT_AUTHOR_EMAIL": "bench@example.org",
       "GIT_COMMITTER_NAME": "Bench Importer", "GIT_COMMITTER_EMAIL": "bench@example.org"}


def gitdesk() -> list[str]:
    found = shutil.which("gitdesk")
    return [found] if found else [sys.executable, "-m", "gitdesk"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", type=Path, help="the event log: .zip (as distributed) or .csv")
    parser.add_argument("--out", type=Path, help="where to create the desk (default: a "
                                                 "temporary directory, removed afterwards)")
    parser.add_argument("--checkout", action="store_true",
                        help="a desk with a working tree (default: bare, as on a server)")
    parser.add_argument("--limit", type=int, help="import only the first N incidents")
    args = parser.parse_args()
    if not args.log.is_file():
        raise SystemExit(f"no such file: {args.log}")
    env = {**os.environ, **ENV}
    base = args.out or Path(tempfile.mkdtemp(prefix="gitdesk-bench-import-"))
    desk = base if args.out else base / "desk"
    if desk.exists():
        raise SystemExit(f"{desk} exists; give another --out")
    try:
        init = [*gitdesk(), "init", str(desk)] + ([] if args.checkout else ["--bare"])
        subprocess.run(init, check=True, env=env, capture_output=True)
        command = [*gitdesk(), "--repo", str(desk), "import", "servicenow", str(args.log),
                   "--format", "json"] + (["--limit", str(args.limit)] if args.limit else [])
        cpu0, t0 = children_cpu(), time.perf_counter()
        proc = subprocess.run(command, env=env, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"import failed (exit {proc.returncode})")
        summary = json.loads(proc.stdout)
        git_dir = desk if not args.checkout else desk / ".git"
        t1 = time.perf_counter()
        subprocess.run(["git", "--git-dir", str(git_dir), "log", "--raw", "--no-renames", "-z"],
                       check=True, stdout=subprocess.DEVNULL)
        baseline = time.perf_counter() - t1
        size = sum(f.stat().st_size for f in git_dir.rglob("*") if f.is_file())
    finally:
        if args.out is None:
            shutil.rmtree(base, ignore_errors=True)
    rows = summary["imported"] + sum(summary["skipped"].values())
    print(f"log:          {args.log} ({rows} rows, {summary['incidents']} incidents)")
    print(f"desk:         {'checked out' if args.checkout else 'bare'}, "
          f"{size / 1e6:.0f} MB after the import")
    print(f"imported:     {summary['imported']} rows, skipped {summary['skipped']}, "
          f"{summary['commits']} commits, {summary['opened']} tickets")
    print(f"import:       {wall:.1f} s wall, {cpu:.1f} s CPU (gitdesk + git fast-import), "
          f"{rows / wall:,.0f} rows/s, {summary['commits'] / wall:,.0f} commits/s")
    print(f"baseline:     git log --raw over the new history {baseline:.1f} s; "
          f"import / baseline = {wall / baseline:.1f}x")
    verdict = "OK" if wall < BUDGET_S else "OVER"
    print(f"budget:       {wall:.1f} s / {BUDGET_S:.0f} s (DESIGN.md section 8): {verdict}")


if __name__ == "__main__":
    main()
