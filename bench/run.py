"""Time gitdesk's per-action cost at two desk sizes, beside raw git doing the same work.

For each size (default 1,000 and 100,000 tickets) it generates a desk with
bench/gen_desk.py (or, with --keep, reuses bench/out/desk-N and resets it to
the generated tip), then times the installed `gitdesk` processes

  open incident -s ...   note ID -m ...   transition ID in-progress
  show ID                list --open (warm index)

both in the checked-out desk (cwd = the desk) and with --repo on a bare clone.
Every gitdesk run is followed by its raw-git baseline, so that both see the
same machine load:

  checkout write: [git cat-file blob HEAD:path] + git hash-object -w --stdin
                  + write the file + git update-index --add --cacheinfo + git commit
  bare write:     [git cat-file blob HEAD:path] + git fast-import (blob, trees,
                  commit and a fast-forward-only ref update in one process)
  show:           git cat-file -p HEAD:path
  list --open:    git grep -l '^status: (open states)$' HEAD -- tickets/
                  (no index: reads every blob, so it grows with the desk)

It prints median and min of --runs runs, gitdesk/baseline ratios, the
100k/1k ratio per action and the DESIGN.md budget check, plus the floors
(interpreter start, `import gitdesk.cli`, one git process).

Examples:
  python bench/run.py                        # 1k and 100k, 9 runs, fresh desks
  python bench/run.py --keep --runs 11       # reuse bench/out/desk-*
  python bench/run.py --keep --sizes 100000 --profile --runs 0   # profile only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

import gen_desk  # noqa: E402
from gitdesk.domain.config import CONFIG_PATH, DeskConfig  # noqa: E402
from gitdesk.domain.model import ticket_path  # noqa: E402
from gitdesk.verify.configs import parse_config  # noqa: E402

VENV_BIN = Path(sys.executable).parent
GITDESK = shutil.which("gitdesk", path=str(VENV_BIN)) or shutil.which("gitdesk") or "gitdesk"
ACTIONS = ("open", "note", "transition", "show", "list --open")
WRITES = ("open", "note", "transition")
MODES = ("checkout", "bare")
BUDGET_WRITE_MS = 250.0
BUDGET_LIST_MS = 300.0
BUDGET_RATIO = 1.2
ENV = {**os.environ,
       "GIT_AUTHOR_NAME": gen_desk.ADMIN_NAME, "GIT_AUTHOR_EMAIL": gen_desk.ADMIN_EMAIL,
       "GIT_COMMITTER_NAME": gen_desk.ADMIN_NAME, "GIT_COMMITTER_EMAIL": gen_desk.ADMIN_EMAIL,
       "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
for _key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITDESK_REPO", "GITDESK_BRANCH",
             "PYTHONDONTWRITEBYTECODE"):
    ENV.pop(_key, None)
# Bytecode is cached as in any real installation, but outside src/ (which stays untouched).
ENV["PYTHONPYCACHEPREFIX"] = str(OUT / "pycache")
NO_PYC = {**ENV, "PYTHONDONTWRITEBYTECODE": "1"}
NO_PYC.pop("PYTHONPYCACHEPREFIX")


def sh(cmd: list[str], cwd: Path, data: bytes | None = None,
       env: dict[str, str] | None = None) -> bytes:
    proc = subprocess.run(cmd, cwd=cwd, env=env or ENV, input=data, capture_output=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n"
                         f"{proc.stderr.decode(errors='replace')}")
    return proc.stdout


def timed(cmd: list[str], cwd: Path, data: bytes | None = None,
          env: dict[str, str] | None = None) -> tuple[float, bytes]:
    start = time.perf_counter()
    out = sh(cmd, cwd, data, env)
    return time.perf_counter() - start, out


@dataclass
class Place:
    """One desk as the benchmark drives it: checkout (cwd) or bare (--repo)."""

    mode: str
    size: int
    git_dir: Path
    cwd: Path
    gitdesk: list[str]
    git: list[str]
    workdir: Path | None = None


@dataclass
class Figures:
    """Seconds per run: wall clock, and CPU (user+sys of the process and its children)."""

    gitdesk: dict[str, list[float]] = field(default_factory=dict)
    baseline: dict[str, list[float]] = field(default_factory=dict)
    gitdesk_cpu: dict[str, list[float]] = field(default_factory=dict)
    baseline_cpu: dict[str, list[float]] = field(default_factory=dict)

    def add(self, action: str, gd: float, base: float, gd_cpu: float, base_cpu: float) -> None:
        self.gitdesk.setdefault(action, []).append(gd)
        self.baseline.setdefault(action, []).append(base)
        self.gitdesk_cpu.setdefault(action, []).append(gd_cpu)
        self.baseline_cpu.setdefault(action, []).append(base_cpu)


def children_cpu() -> float:
    """CPU seconds of all waited-for children so far (grandchildren such as the git
    processes gitdesk spawns are included once their parent has waited for them)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- baselines

def base_write(place: Place, path: str, make: Callable[[bytes | None], bytes],
               read: bool, message: str) -> float:
    """Raw git doing one action's git work: read the blob, write it, commit."""
    start = time.perf_counter()
    old = sh([*place.git, "cat-file", "blob", f"HEAD:{path}"], place.cwd) if read else None
    data = make(old)
    if place.workdir is not None:
        oid = sh([*place.git, "hash-object", "-w", "--stdin"], place.cwd, data).decode().strip()
        target = place.workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        sh([*place.git, "update-index", "--add", "--cacheinfo", f"100644,{oid},{path}"],
           place.cwd)
        sh([*place.git, "commit", "-q", "--no-verify", "-m", message], place.cwd)
    else:
        stamp = f"{int(time.time())} +0000"
        msg = message.encode()
        ident = f"{gen_desk.ADMIN_NAME} <{gen_desk.ADMIN_EMAIL}> {stamp}"
        stream = (f"commit refs/heads/main\nauthor {ident}\ncommitter {ident}\n"
                  f"data {len(msg)}\n").encode() + msg + b"\n" + \
            f"from refs/heads/main^0\nM 100644 inline {path}\ndata {len(data)}\n".encode() + \
            data + b"\ndone\n"
        sh([*place.git, "fast-import", "--quiet", "--done"], place.cwd, stream)
    return time.perf_counter() - start


def add_note(old: bytes | None) -> bytes:
    assert old is not None
    line = gen_desk.note_line(datetime.now(UTC), "Baseline note").encode()
    if old.endswith(b"notes: []\n"):
        return old[:-len(b"notes: []\n")] + b"notes:\n" + line
    return old + line


def to_in_progress(old: bytes | None) -> bytes:
    assert old is not None
    return old.replace(b"\nstatus: new\n", b"\nstatus: in-progress\n", 1)


def desk_config(place: Place) -> DeskConfig:
    """The config committed in the generated desk (not the template, which may move on)."""
    return parse_config(sh([*place.git, "show", f"{gen_desk.BENCH_REF}:{CONFIG_PATH}"],
                           place.cwd))


def open_states(config: DeskConfig) -> list[str]:
    return sorted({s for wf in config.workflows.values() for s, st in wf.states.items()
                   if st.category == "open"})


# ---------------------------------------------------------------- desks

def desk_paths(size: int) -> tuple[Path, Path]:
    return OUT / f"desk-{size}", OUT / f"desk-{size}.git"


def prepare(size: int, keep: bool, log: dict[str, object],
            outside: Path) -> tuple[Place, Place]:
    desk, bare = desk_paths(size)
    if not (keep and desk.is_dir() and bare.is_dir()):
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"generating the {size:,}-ticket desk ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, str(BENCH / "gen_desk.py"), "--tickets", str(size),
                        "--out", str(desk), "--bare", "--force"], check=True, env=ENV)
        log[f"generate_{size}_s"] = round(time.perf_counter() - start, 1)
    else:  # undo the commits of earlier benchmark runs
        sh(["git", "reset", "--hard", "-q", gen_desk.BENCH_REF], desk)
        sh(["git", "--git-dir", str(bare), "update-ref", "refs/heads/main",
            gen_desk.BENCH_REF], OUT)
    checkout = Place("checkout", size, desk / ".git", desk, [GITDESK], ["git"], desk)
    bare_place = Place("bare", size, bare, outside, [GITDESK, "--repo", str(bare)],
                       ["git", "--git-dir", str(bare)])
    db = desk / ".git" / "gitdesk" / "index.sqlite"
    if not db.exists():
        print(f"building the index of the {size:,}-ticket desk (cold) ...", file=sys.stderr,
              flush=True)
        seconds, _ = timed([GITDESK, "list", "--open"], desk)
        log[f"index_cold_{size}_s"] = round(seconds, 2)
    bare_db = bare / "gitdesk" / "index.sqlite"
    if not bare_db.exists():  # the index is derived: the checkout's is as good as a rebuild
        bare_db.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(db)
        dst = sqlite3.connect(bare_db)
        src.backup(dst)
        src.close()
        dst.close()
    index_file = desk / ".git" / "index"
    log[f"git_index_bytes_{size}"] = index_file.stat().st_size
    return checkout, bare_place


def sample_paths(place: Place, count: int, rng: random.Random) -> list[str]:
    names = sh([*place.git, "ls-tree", "-r", "--name-only", gen_desk.BENCH_REF, "tickets/"],
               place.cwd).decode().split()
    return rng.sample(names, min(count, len(names)))


# ---------------------------------------------------------------- measuring

class Session:
    """The prepared tickets and figures of one place; step(action, i) times one run."""

    def __init__(self, place: Place, runs: int, rng: random.Random) -> None:
        self.place = place
        self.figures = Figures()
        config = desk_config(place)
        now = datetime.now(UTC).replace(microsecond=0)
        self.fresh = gen_desk.make_tickets(config, runs, 0, now, now, [("incident", 1)],
                                           random.Random(rng.random()))
        self.opened: list[str] = []
        self.base_paths: list[str] = []
        self.shown = sample_paths(place, runs, rng)
        self.pattern = "^status: (" + "|".join(open_states(config)) + ")$"

    def warm(self) -> None:
        sh([*self.place.gitdesk, "list", "--open"], self.place.cwd)  # index to the tip

    def step(self, action: str, i: int) -> None:
        place, gd, cwd = self.place, self.place.gitdesk, self.place.cwd
        marks = [children_cpu()]

        def mark() -> None:
            marks.append(children_cpu())

        if action == "open":
            seconds, out = timed([*gd, "open", "incident", "-s", f"Bench ticket {i}",
                                  "--impact", "medium", "--urgency", "low"], cwd)
            mark()
            self.opened.append(out.decode().strip().splitlines()[0])
            t = self.fresh[i]
            path = ticket_path(t.type, t.tid)
            data = gen_desk.render(t)
            base = base_write(place, path, lambda _old: data, False,
                              f"{t.tid}: open — baseline")
            self.base_paths.append(path)
        elif action == "note":
            seconds, _ = timed([*gd, "note", self.opened[i], "-m", f"Bench note {i}"], cwd)
            mark()
            base = base_write(place, self.base_paths[i], add_note, True, "note — baseline")
        elif action == "transition":
            seconds, _ = timed([*gd, "transition", self.opened[i], "in-progress"], cwd)
            mark()
            base = base_write(place, self.base_paths[i], to_in_progress, True,
                              "in-progress — baseline")
        elif action == "show":
            path = self.shown[i % len(self.shown)]
            seconds, _ = timed([*gd, "show", Path(path).stem], cwd)
            mark()
            base, _ = timed([*place.git, "cat-file", "-p", f"HEAD:{path}"], cwd)
        else:
            seconds, _ = timed([*gd, "list", "--open"], cwd)
            mark()
            base, _ = timed([*place.git, "grep", "-l", "-E", self.pattern, "HEAD", "--",
                             "tickets/"], cwd)
        mark()
        self.figures.add(action, seconds, base, marks[1] - marks[0], marks[2] - marks[1])


def measure(places: list[Place], runs: int, rng: random.Random) -> dict[tuple[int, str], Figures]:
    """Every action, run by run, across all places in rotating order: load changes on a
    shared machine then hit every size and mode alike, and the ratios stay fair."""
    sessions = [Session(place, runs, rng) for place in places]
    for action in ACTIONS:
        print(f"timing {action} ...", file=sys.stderr, flush=True)
        if action == "list --open":
            for session in sessions:
                session.warm()
        for i in range(runs):
            k = i % len(sessions)
            for session in sessions[k:] + sessions[:k]:
                session.step(action, i)
    return {(s.place.size, s.place.mode): s.figures for s in sessions}


def floors(runs: int) -> dict[str, list[float]]:
    cwd = Path(tempfile.gettempdir())
    imp = [sys.executable, "-c", "import gitdesk.cli"]
    cmds = {
        "python -c pass": ([sys.executable, "-c", "pass"], ENV),
        "python -c 'import gitdesk.cli'": (imp, ENV),
        "  the same, no bytecode cache (this sandbox)": (imp, NO_PYC),
        "gitdesk --version": ([GITDESK, "--version"], ENV),
        "git var GIT_AUTHOR_IDENT (1 git process)": (["git", "var", "GIT_AUTHOR_IDENT"], ENV),
    }
    result: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(max(runs, 5)):
        for name, (cmd, env) in cmds.items():
            result[name].append(timed(cmd, cwd, env=env)[0])
    return result


# ---------------------------------------------------------------- reporting

def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def report(results: dict[tuple[int, str], Figures], floor: dict[str, list[float]],
           sizes: list[int], runs: int, log: dict[str, object]) -> str:
    lines = [f"gitdesk benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
             f"{os.cpu_count()} cores, {runs} runs each, ms. wall = elapsed time (median, "
             "min); cpu = user+sys of the process tree (median)", ""]
    head = (f"{'size':>7}  {'where':<8}  {'action':<11} | {'gitdesk wall':>12} {'min':>6} "
            f"{'cpu':>6} | {'raw git wall':>12} {'min':>6} {'cpu':>6} | "
            f"{'gitdesk/git':>11} {'cpu':>6}")
    lines += [head, "-" * len(head)]
    for (size, mode), fig in results.items():
        for action in ACTIONS:
            if action not in fig.gitdesk:
                continue
            g, b = fig.gitdesk[action], fig.baseline[action]
            gc, bc = fig.gitdesk_cpu[action], fig.baseline_cpu[action]
            lines.append(f"{size:>7}  {mode:<8}  {action:<11} | {ms(g):>12.1f} "
                         f"{min(g) * 1000:>6.1f} {ms(gc):>6.1f} | {ms(b):>12.1f} "
                         f"{min(b) * 1000:>6.1f} {ms(bc):>6.1f} | {ms(g) / ms(b):>10.1f}x "
                         f"{ms(gc) / max(ms(bc), 0.1):>5.1f}x")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        lines += ["", f"Growth {large:,} / {small:,} tickets, and the DESIGN.md budgets on the "
                      f"wall medians (writes < {BUDGET_WRITE_MS:.0f} ms, list --open < "
                      f"{BUDGET_LIST_MS:.0f} ms, ratio <= {BUDGET_RATIO}):", ""]
        head = (f"{'where':<8}  {'action':<11} | {'wall':>7} {'wall':>7} | {'ratio':>6} "
                f"{'ratio':>6} {'ratio':>6} | {'raw git':>7} {'':>6} | {'budget':<24}")
        lines += [head, f"{'':<8}  {'':<11} | {small:>7} {large:>7} | {'wall':>6} "
                        f"{'min':>6} {'cpu':>6} | {'wall':>7} {'cpu':>6} |",
                  "-" * len(head)]
        for mode in MODES:
            a, z = results.get((small, mode)), results.get((large, mode))
            if a is None or z is None:
                continue
            for action in ACTIONS:
                if action not in a.gitdesk or action not in z.gitdesk:
                    continue
                m1, m2 = ms(a.gitdesk[action]), ms(z.gitdesk[action])
                ratio = m2 / m1
                min_ratio = min(z.gitdesk[action]) / min(a.gitdesk[action])
                cpu_ratio = ms(z.gitdesk_cpu[action]) / ms(a.gitdesk_cpu[action])
                base_ratio = ms(z.baseline[action]) / ms(a.baseline[action])
                base_cpu = ms(z.baseline_cpu[action]) / max(ms(a.baseline_cpu[action]), 0.1)
                verdict = ""
                if action in WRITES:
                    ok_time = max(m1, m2) < BUDGET_WRITE_MS
                    ok_ratio = ratio <= BUDGET_RATIO
                    verdict = ("PASS" if ok_time and ok_ratio else "FAIL") + \
                        ("" if ok_time else f" >{BUDGET_WRITE_MS:.0f}ms") + \
                        ("" if ok_ratio else f" ratio>{BUDGET_RATIO}")
                elif action == "list --open":
                    verdict = "PASS" if m2 < BUDGET_LIST_MS else f"FAIL >{BUDGET_LIST_MS:.0f}ms"
                lines.append(f"{mode:<8}  {action:<11} | {m1:>7.1f} {m2:>7.1f} | {ratio:>6.2f} "
                             f"{min_ratio:>6.2f} {cpu_ratio:>6.2f} | {base_ratio:>7.2f} "
                             f"{base_cpu:>6.2f} | {verdict}")
    if floor:
        lines += ["", "Floors (wall median / min ms):"]
        for name, values in floor.items():
            lines.append(f"  {name:<44} {ms(values):>7.1f}  {min(values) * 1000:>7.1f}")
    if log:
        lines += ["", "Set-up: " + ", ".join(f"{k}={v}" for k, v in log.items())]
    return "\n".join(lines) + "\n"


def src_fingerprint() -> str:
    """Which gitdesk was measured: HEAD of its repository plus a hash of src/ as it is."""
    import gitdesk

    src = Path(gitdesk.__file__).resolve().parent
    digest = hashlib.sha1()
    for path in sorted(src.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(src).as_posix().encode() + b"\0" + path.read_bytes())
    head = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    return f"{head or '?'}+src:{digest.hexdigest()[:10]}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,100000", help="ticket counts (default 1000,100000)")
    p.add_argument("--runs", type=int, default=9, help="runs per figure (default 9)")
    p.add_argument("--keep", action="store_true",
                   help="reuse bench/out/desk-N (reset to the generated tip) if present")
    p.add_argument("--modes", default=",".join(MODES), help="checkout,bare")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", action="store_true",
                   help="then profile open and list --open at the largest size")
    p.add_argument("--src", metavar="DIR",
                   help="measure the gitdesk package in DIR/gitdesk (e.g. a snapshot)")
    p.add_argument("--snapshot", action="store_true",
                   help="copy the installed gitdesk package to bench/out/snapshot first and "
                        "measure that copy (src/ may change while the benchmark runs)")
    args = p.parse_args(argv)
    if (args.src or args.snapshot) and not os.environ.get("GITDESK_BENCH_SRC"):
        src_dir = Path(args.src).resolve() if args.src else OUT / "snapshot"
        if args.snapshot:
            import gitdesk

            shutil.rmtree(src_dir, ignore_errors=True)
            shutil.copytree(Path(gitdesk.__file__).resolve().parent, src_dir / "gitdesk",
                            ignore=shutil.ignore_patterns("__pycache__"))
        if not (src_dir / "gitdesk" / "__init__.py").is_file():
            raise SystemExit(f"no gitdesk package in {src_dir}")
        env = {**os.environ, "GITDESK_BENCH_SRC": str(src_dir),
               "PYTHONPATH": os.pathsep.join(filter(None, (str(src_dir),
                                                            os.environ.get("PYTHONPATH"))))}
        os.execve(sys.executable, [sys.executable, __file__, *(argv or sys.argv[1:])], env)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    modes = [m for m in args.modes.split(",") if m]
    rng = random.Random(args.seed)
    log: dict[str, object] = {}
    OUT.mkdir(parents=True, exist_ok=True)
    log["src"] = src_fingerprint()
    sh([GITDESK, "--version"], OUT)  # fill the bytecode cache before anything is timed
    results: dict[tuple[int, str], Figures] = {}
    places: dict[tuple[int, str], Place] = {}
    outside = Path(tempfile.mkdtemp(prefix="gitdesk-bench-"))  # cwd outside any repository
    for size in sizes:
        checkout, bare = prepare(size, args.keep, log, outside)
        for place in (checkout, bare):
            places[(size, place.mode)] = place
    timed_places = [p for p in places.values() if p.mode in modes]
    if args.runs:
        results = measure(timed_places, args.runs, rng)
    floor = floors(args.runs) if args.runs else {}
    text = report(results, floor, sizes, args.runs, log) if args.runs else ""
    print(text, end="")
    if args.runs:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        (OUT / f"results-{stamp}.txt").write_text(text)
        raw = {f"{s}/{m}": {"gitdesk": f.gitdesk, "baseline": f.baseline,
                            "gitdesk_cpu": f.gitdesk_cpu, "baseline_cpu": f.baseline_cpu}
               for (s, m), f in results.items()}
        (OUT / f"results-{stamp}.json").write_text(json.dumps(
            {"runs": args.runs, "figures": raw, "floors": floor, "setup": log}, indent=1))
    if args.profile:
        import profiling

        largest = sizes[-1]
        print(profiling.profile_all(places[(largest, "checkout")], places[(largest, "bare")],
                                    ENV))
    shutil.rmtree(outside, ignore_errors=True)


if __name__ == "__main__":
    main()
