"""Index and report figures on a desk with history, beside `git log --raw`.

    python bench/bench_index.py DESK [--runs 3] [--as-of 2017-02-18]

DESK is any desk, e.g. one made by `gitdesk import servicenow` from the full
ServiceNow log (bench/bench_import.py makes one) or by bench/gen_desk.py. Prints
the median wall time of: `git log --raw` over the branch (the baseline), a cold
`gitdesk reindex` (the index deleted first) and its ratio to the baseline, then
every report and `list --open` with a warm index. DESIGN.md section 8: cold
index at no less than half the speed of `git log --raw` (ratio <= 2), every
report under 2 s warm, `list --open` under 300 ms warm.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPORTS = ("summary", "aging", "resolution", "past-due", "detail", "sla", "changes", "weekly")


def timed(cmd: list[str], cwd: Path, runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("desk", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--as-of", default=None, help="as-of for the reports (default: now)")
    args = parser.parse_args()
    gitdesk = shutil.which("gitdesk")
    if gitdesk is None:
        print("bench_index: gitdesk is not on PATH (pip install -e .)", file=sys.stderr)
        return 2
    desk = args.desk
    commits = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=desk, check=True,
                             capture_output=True, text=True).stdout.strip()
    baseline = timed(["git", "log", "--raw", "-z", "--no-renames", "--no-abbrev",
                      "--format=%H%x00%P%x00%at"], desk, args.runs)
    index = desk / ".git" / "gitdesk" / "index.sqlite"
    cold = []
    for _ in range(max(1, args.runs // 2)):
        for leftover in index.parent.glob("index.sqlite*"):
            leftover.unlink()
        cold.append(timed([gitdesk, "reindex"], desk, 1))
    build = statistics.median(cold)
    print(f"desk {desk} ({commits} commits)")
    print(f"{'git log --raw (baseline)':32} {baseline:8.2f} s")
    print(f"{'gitdesk reindex (cold)':32} {build:8.2f} s   ratio {build / baseline:.1f}"
          f"   budget <= 2.0: {'PASS' if build / baseline <= 2 else 'FAIL'}")
    as_of = ["--as-of", args.as_of] if args.as_of else []
    for name in REPORTS:
        seconds = timed([gitdesk, "report", name, *as_of], desk, args.runs)
        budget = 1.0 if name == "weekly" else 2.0  # DESIGN section 8
        print(f"{'report ' + name + ' (warm)':32} {seconds:8.2f} s"
              f"   budget < {budget:g} s: {'PASS' if seconds < budget else 'FAIL'}")
    listing = timed([gitdesk, "list", "--open"], desk, args.runs)
    print(f"{'list --open (warm)':32} {listing * 1000:8.0f} ms"
          f"  budget < 300 ms: {'PASS' if listing < 0.3 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
