"""Where does one gitdesk process spend its time? (`python bench/run.py --profile`)

For `open` (checkout and bare --repo), `note` (bare --repo) and a warm
`list --open` on the largest desk it prints:
  - python -X importtime: total import time, the heaviest top-level imports and
    self time summed by package;
  - cProfile: cumulative time of the parts of the write/read path (imports, git
    subprocesses, pygit2 index of the work tree, YAML, verification, SQLite),
    then the top entries by cumulative and by self time.
Profiled runs are slower than plain ones (cProfile overhead); read the shares.
"""

from __future__ import annotations

import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# (label, file suffix or "", function name): cumulative times to report
PARTS = (
    ("module imports (all)", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("git subprocesses (subprocess.run)", "subprocess.py", "run"),
    ("  git var (identity)", "gitdesk/gitio/repo.py", "identity"),
    ("  git config --list", "gitdesk/gitio/repo.py", "config"),
    ("  git update-ref (CAS)", "gitdesk/gitio/process.py", "cas_update_ref"),
    ("work tree: dirty check (index read + hash)", "gitdesk/gitio/worktree.py", "dirty_paths"),
    ("work tree: write file + .git/index", "gitdesk/gitio/worktree.py", "update_worktree"),
    ("  pygit2 Index.read", "pygit2/index.py", "read"),
    ("  pygit2 Index.write", "pygit2/index.py", "write"),
    ("  pygit2 Index.add", "pygit2/index.py", "add"),
    ("build tree + commit (pygit2)", "gitdesk/gitio/objects.py", "build_tree"),
    ("verify (store._verify)", "gitdesk/store/write.py", "_verify"),
    ("YAML load (ruamel)", "gitdesk/yaml/roundtrip.py", "load"),
    ("YAML dump (ruamel)", "gitdesk/yaml/roundtrip.py", "dump"),
    ("config parse", "gitdesk/verify/configs.py", "parse_config"),
    ("policy parse", "gitdesk/verify/configs.py", "parse_policy"),
    ("SQLite index: refresh", "gitdesk/index/tickets.py", "refresh"),
    ("SQLite index: rows (query + json)", "gitdesk/index/tickets.py", "rows"),
    ("render table", "gitdesk/cli/output.py", "render"),
)


ENV: dict[str, str] = {}


def run(cmd: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=ENV or None, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.decode(errors='replace')}")
    return time.perf_counter() - start, proc


def importtime(place: Any, args: list[str]) -> str:
    wall, proc = run([sys.executable, "-X", "importtime", *place.gitdesk, *args], place.cwd)
    rows = []
    for line in proc.stderr.decode().splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)), m.group(4)))
    total = sum(r[0] for r in rows) / 1000
    top = sorted((r for r in rows if r[2] == 0), key=lambda r: -r[1])[:10]
    by_pkg: dict[str, int] = defaultdict(int)
    for self_us, _cum, _depth, name in rows:
        by_pkg[name.split(".")[0]] += self_us
    lines = [f"  -X importtime: {total:.0f} ms of imports in a {wall * 1000:.0f} ms run "
             f"({len(rows)} modules)",
             "  heaviest top-level imports (cumulative ms): "
             + ", ".join(f"{r[3]} {r[1] / 1000:.0f}" for r in top),
             "  self time by package (ms): "
             + ", ".join(f"{k} {v / 1000:.0f}" for k, v in
                         sorted(by_pkg.items(), key=lambda kv: -kv[1])[:10])]
    return "\n".join(lines)


def cprofile(place: Any, args: list[str]) -> str:
    with tempfile.NamedTemporaryFile(suffix=".prof", delete=False) as handle:
        out = handle.name
    wall, _ = run([sys.executable, "-m", "cProfile", "-o", out, *place.gitdesk, *args],
                  place.cwd)
    stats = pstats.Stats(out)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = max(ct for (_cc, _nc, _tt, ct, _callers) in table.values())
    lines = [f"  cProfile: {total * 1000:.0f} ms profiled ({wall * 1000:.0f} ms wall with "
             "profiler overhead)"]
    for label, suffix, func in PARTS:
        hits = [(nc, ct) for (fn, _ln, name), (_cc, nc, _tt, ct, _c) in table.items()
                if name == func and fn.endswith(suffix)]
        if hits:
            nc = sum(h[0] for h in hits)
            ct = max(h[1] for h in hits)
            lines.append(f"    {label:<46} {ct * 1000:>7.1f} ms  {ct / total:>4.0%}  "
                         f"({nc} calls)")

    def short(key: tuple[str, int, str]) -> str:
        fn, ln, name = key
        fn = re.sub(r".*/site-packages/", "", fn)
        fn = re.sub(r".*/gitdesk/", "gitdesk/", fn)
        fn = re.sub(r".*/lib/python3\.\d+/", "", fn)
        return f"{fn}:{ln}({name})" if ln else name

    cum = sorted(table.items(), key=lambda kv: -kv[1][3])
    own = [kv for kv in cum if "gitdesk/" in kv[0][0] or "subprocess" in kv[0][0]][:12]
    lines.append("    top gitdesk/subprocess entries by cumulative ms: " + "; ".join(
        f"{short(k)} {v[3] * 1000:.0f}" for k, v in own))
    by_self = sorted(table.items(), key=lambda kv: -kv[1][2])[:12]
    lines.append("    top entries by self ms: " + "; ".join(
        f"{short(k)} {v[2] * 1000:.0f}" for k, v in by_self))
    Path(out).unlink()
    return "\n".join(lines)


def profile_all(checkout: Any, bare: Any, env: dict[str, str]) -> str:
    ENV.update(env)
    out = [f"Profile at {checkout.size:,} tickets ({' '.join(checkout.gitdesk)})", ""]
    for place in (checkout, bare):
        run([*place.gitdesk, "list", "--open"], place.cwd)  # index at the tip
        label = "checkout" if place.mode == "checkout" else "bare --repo"
        args = ["open", "incident", "-s", "Profiled ticket", "--impact", "low"]
        out += [f"open incident ({label}):", importtime(place, args), cprofile(place, args), ""]
    _, proc = run([*bare.gitdesk, "open", "incident", "-s", "Profiled note"], bare.cwd)
    tid = proc.stdout.decode().split()[0]
    args = ["note", tid, "-m", "Profiled note"]
    out += ["note (bare --repo):", importtime(bare, args), cprofile(bare, args), ""]
    run([*checkout.gitdesk, "list", "--open"], checkout.cwd)
    out += ["list --open (checkout, warm index):",
            importtime(checkout, ["list", "--open"]),
            cprofile(checkout, ["list", "--open"]), ""]
    return "\n".join(out)
