#!/usr/bin/env python3
"""What git's merge driver for ticket files (`gitdesk merge-file`) costs, per file and per merge.

Run with the Python of the venv that has gitdesk installed (`. .venv/bin/activate`). In a
scratch desk (`gitdesk init`, 50 tickets opened, a few notes on the first) it makes three
versions of one ticket file from real gitdesk commits on branches, in two variants:

  notes   base; ours = base + a note; theirs = base + another note (no conflict: the
          driver never asks git anything)
  impact  both sides change `impact` (low and high): the driver records a conflict and
          asks git for each side's last commit that changed the file (HEAD, the commit
          git names in GITHEAD_<id>, merge-base, two `git log`). It is timed with ours
          checked out and GITHEAD_<theirs>=i-theirs in the environment: what git gives a
          driver during a merge (git writes MERGE_HEAD only after the drivers ran).

Timed, interleaved (the order flips every run), --runs times each (default 21):

  gitdesk merge-file O A B PATH     the driver as git runs it (A is a fresh copy each run)
  git merge-file -p A O B           git's own text merge of the same three files (baseline;
                                    it conflicts, as git's text merge of two notes does)
  python -c pass                    the interpreter floor
  python -c 'import gitdesk.actions.mergefile'   the driver's imports

Every driver run must write exactly the bytes that the real `git merge` with the driver
wrote into the working tree (checked after every run); the merged notes file holds both
notes, the impact file one conflict entry.

Then a whole merge: two branches that each added a note to all 50 tickets (one commit per
side, written by gitdesk's own `note` rule through the normal commit path, so the files
are what `gitdesk note` writes), merged with `git merge --no-edit` in two identical
copies of the desk: one with the driver configured (it runs 50 times), one without
(`merge.gitdesk.driver` unset: git's text merge, which conflicts in every file; wall time
only). The driver's merge must give the tree that `gitdesk sync`'s in-process merge
(`store.merging.merge_tips`) gives.

  python bench/bench_merge_driver.py                 # 21 runs, scratch under bench/out/
  python bench/bench_merge_driver.py --runs 41 --merge-runs 7 --tickets 50
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
ADMIN = ("Desk Admin", "admin@example.org")
T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
VENV_BIN = Path(sys.executable).parent
GITDESK = shutil.which("gitdesk", path=str(VENV_BIN)) or shutil.which("gitdesk") or "gitdesk"


def environment(scratch: Path) -> dict[str, str]:
    """Isolated git (scratch HOME and global config), the venv first on PATH (the driver
    command that `gitdesk init` configures names the gitdesk it finds there), bytecode
    cached outside src/ as an installation would have it."""
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = scratch / "gitconfig"
    gitconfig.write_text(f"[user]\n\tname = {ADMIN[0]}\n\temail = {ADMIN[1]}\n"
                         "[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n",
                         encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "GITDESK_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "HOME": str(home), "GIT_CONFIG_GLOBAL": str(gitconfig),
                "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "TZ": "UTC",
                "LC_ALL": "C.UTF-8", "EDITOR": "true", "GIT_EDITOR": "true",
                "PYTHONPYCACHEPREFIX": str(OUT / "pycache")})
    return env


def at(env: dict[str, str], when: datetime) -> dict[str, str]:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {**env, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def sh(cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> bytes:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False,
                          stdin=subprocess.DEVNULL)
    if proc.returncode not in ok:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)} in {cwd}\n"
                         f"{proc.stderr.decode('utf-8', 'replace')}")
    return proc.stdout


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Series:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def timed(self, cmd: list[str], cwd: Path, env: dict[str, str],
              ok: tuple[int, ...] = (0,)) -> bytes:
        cpu0, start = children_cpu(), time.perf_counter()
        out = sh(cmd, cwd, env, ok)
        self.wall.append(time.perf_counter() - start)
        self.cpu.append(children_cpu() - cpu0)
        return out

    def median(self) -> float:
        return statistics.median(self.wall) * 1000

    def row(self, name: str, baseline: Series | None = None) -> str:
        ratio = f"{self.median() / baseline.median():>8.2f}x" if baseline else " " * 9
        return (f"{name:<44} | {self.median():>8.1f} {min(self.wall) * 1000:>8.1f} "
                f"{statistics.median(self.cpu) * 1000:>8.1f} | {ratio}")


HEADER = f"{'command':<44} | {'median':>8} {'min':>8} {'cpu':>8} | {'/ git':>9}"


# ------------------------------------------------------------------------- the desk

def notes_commit(desk: Path, tids: list[str], text: str, when: datetime,
                 env: dict[str, str]) -> str:
    """One commit that adds a note to each ticket, through gitdesk's own `note` rule and
    commit path (Desk.commit: the same Change.put dump and verifier as `gitdesk note`)."""
    from gitdesk.actions.common import context
    from gitdesk.actions.tickets import note
    from gitdesk.store.write import Change, Desk

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(at(env, when))
    try:
        desk_ = Desk.open(str(desk))

        def build(snap, now, author):  # type: ignore[no-untyped-def]
            change = Change(subject=f"notes on {len(tids)} tickets — {text}", action="note")
            ctx = context(snap, now, author)
            for tid in tids:
                ticket = snap.ticket(tid)
                note(ticket, ctx, text=f"{text} ({tid})")
                change.put(ticket)
            return change

        return desk_.commit(build).commit
    finally:
        os.environ.clear()
        os.environ.update(saved)


def git(desk: Path, env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    return sh(["git", *args], desk, env, ok).decode()


def build_desk(work: Path, env: dict[str, str], tickets: int) -> tuple[Path, str, list[str]]:
    desk = work / "desk"
    sh([GITDESK, "init", str(desk)], work, at(env, T0))
    tids = []
    for i in range(tickets):
        out = sh([GITDESK, "open", "incident", "-s", f"Mail delayed for site {i}",
                  "--impact", "medium", "--urgency", "medium"], desk,
                 at(env, T0 + timedelta(minutes=1 + i)))
        tids.append(out.decode().strip())
    for k in range(3):
        sh([GITDESK, "note", tids[0], "-m", f"Checked the queue, step {k + 1}"], desk,
           at(env, T0 + timedelta(hours=2, minutes=k)))
    path = git(desk, env, "ls-files", f"*{tids[0]}.yaml").strip()
    git(desk, env, "branch", "base")
    return desk, path, tids


def branch(desk: Path, env: dict[str, str], name: str, when: datetime,
           *cmd: str) -> None:
    git(desk, env, "checkout", "-q", "-b", name, "base")
    sh([GITDESK, *cmd], desk, at(env, when))


@dataclass
class Variant:
    name: str
    files: dict[str, Path]   # O, A, B
    expected: bytes          # what the real git merge with the driver wrote
    cwd: Path                # where the driver runs (the desk, in a merge state or not)


def variant(desk: Path, work: Path, env: dict[str, str], name: str, path: str,
            ours: str, theirs: str) -> Variant:
    """The three versions from the branches, and the real merge's result."""
    folder = work / "files" / name
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for key, rev in (("O", "base"), ("A", ours), ("B", theirs)):
        files[key] = folder / key
        files[key].write_bytes(sh(["git", "show", f"{rev}:{path}"], desk, env))
    git(desk, env, "checkout", "-q", ours)
    git(desk, env, "merge", "-q", "--no-commit", "--no-ff", theirs)
    expected = (desk / path).read_bytes()
    return Variant(name, files, expected, desk)


def check_merged(name: str, data: bytes, texts: list[str], conflicts: int) -> None:
    from gitdesk.yaml.ticket import parse_blob

    ticket = parse_blob(data, "merged.yaml")
    notes = [n["text"] for n in ticket.get("notes") or []]
    missing = [t for t in texts if t not in notes]
    if missing or b"<<<<<<<" in data:
        raise SystemExit(f"{name}: the merged ticket lacks {missing} or has markers:\n"
                         f"{data.decode()}")
    if len(ticket.get("conflicts") or []) != conflicts:
        raise SystemExit(f"{name}: expected {conflicts} conflict entries:\n{data.decode()}")


# ------------------------------------------------------------------------- per file

def sync_merge(desk: Path, env: dict[str, str], ours: str, theirs: str, path: str) -> bytes:
    """The file as `gitdesk sync`'s in-process merge (store.merging.merge_tips) makes it."""
    from gitdesk import gitio
    from gitdesk.store.merging import merge_tips

    base = git(desk, env, "merge-base", ours, theirs).strip()
    ours, theirs = (git(desk, env, "rev-parse", r).strip() for r in (ours, theirs))
    merged = merge_tips(gitio.open_repo(str(desk)), base, ours, theirs,
                        now=T0 + timedelta(hours=7))
    return sh(["git", "show", f"{merged.tree}:{path}"], desk, env)


def per_file(desk: Path, work: Path, env: dict[str, str], path: str, runs: int) -> str:
    tid = Path(path).stem
    branch(desk, env, "n-ours", T0 + timedelta(hours=3), "note", tid, "-m", "Ours: MX restarted")
    branch(desk, env, "n-theirs", T0 + timedelta(hours=4), "note", tid, "-m",
           "Theirs: queue drained")
    branch(desk, env, "i-ours", T0 + timedelta(hours=3), "set", tid, "impact=low")
    branch(desk, env, "i-theirs", T0 + timedelta(hours=4), "set", tid, "impact=high")
    notes = variant(desk, work, env, "notes", path, "n-ours", "n-theirs")
    check_merged("notes", notes.expected, ["Ours: MX restarted", "Theirs: queue drained"], 0)
    if notes.expected != sync_merge(desk, env, "n-ours", "n-theirs", path):
        raise SystemExit("notes: git merge with the driver and gitdesk sync's merge differ")
    git(desk, env, "merge", "--abort")
    # impact as git runs the driver: ours checked out, no MERGE_HEAD yet, and the commit
    # being merged named in GITHEAD_<id> (git sets it for the merge strategy and drivers).
    in_git = variant(desk, work, env, "impact", path, "i-ours", "i-theirs")
    check_merged("impact", in_git.expected, [], 1)
    git(desk, env, "merge", "--abort")
    if in_git.expected != sync_merge(desk, env, "i-ours", "i-theirs", path):
        raise SystemExit("impact: git merge with the driver and gitdesk sync's merge differ")
    named = {f"GITHEAD_{git(desk, env, 'rev-parse', 'i-theirs').strip()}": "i-theirs"}

    cases = {"gd-notes": notes, "gd-impact": in_git, "git-notes": notes, "git-impact": in_git}
    series = {k: Series() for k in (*cases, "pass", "import")}
    scratch = work / "files" / "run"
    scratch.mkdir(exist_ok=True)
    py = sys.executable

    def one(key: str) -> None:
        if key in ("pass", "import"):
            code = "pass" if key == "pass" else "import gitdesk.actions.mergefile"
            series[key].timed([py, "-c", code], desk, env)
            return
        v = cases[key]
        o, a, b = (str(v.files[k]) for k in "OAB")
        if key.startswith("gd-"):
            copy = scratch / "A"
            copy.write_bytes(v.files["A"].read_bytes())
            series[key].timed([GITDESK, "merge-file", o, str(copy), b, path], v.cwd,
                              {**env, **named} if key == "gd-impact" else env)
            if copy.read_bytes() != v.expected:
                raise SystemExit(f"{v.name}: the driver wrote other bytes than expected:\n"
                                 f"{copy.read_bytes().decode()}")
        else:
            out = series[key].timed(["git", "merge-file", "-p", a, o, b], v.cwd, env,
                                    ok=tuple(range(128)))
            if b"<<<<<<<" not in out:
                raise SystemExit(f"git's text merge of {v.name} did not conflict")

    order = list(series)
    for key in order:  # warm-up: bytecode, config cache
        one(key)
    for s in series.values():
        s.wall.clear()
        s.cpu.clear()
    for i in range(runs):
        for key in (order if i % 2 == 0 else order[::-1]):
            one(key)

    lines = [f"Per file: one ticket ({path}, {len(notes.expected)} bytes merged), "
             f"{runs} runs each, interleaved; wall ms (cpu = user+sys incl. children)", "",
             HEADER, "-" * len(HEADER),
             series["gd-notes"].row("gitdesk merge-file, notes (both kept)",
                                    series["git-notes"]),
             series["git-notes"].row("git merge-file -p, notes (conflicts)"),
             series["gd-impact"].row("gitdesk merge-file, impact (GITHEAD_<id> set)",
                                     series["git-impact"]),
             series["git-impact"].row("git merge-file -p, impact (conflicts)"),
             series["pass"].row("python -c pass"),
             series["import"].row("python -c 'import gitdesk.actions.mergefile'"), "",
             f"impact - notes (the sides' last commits, from git): "
             f"{series['gd-impact'].median() - series['gd-notes'].median():.1f} ms; "
             f"notes - python -c pass: "
             f"{series['gd-notes'].median() - series['pass'].median():.1f} ms",
             "bytes: every driver run wrote what git merge with the driver wrote, which is "
             "what gitdesk sync's merge writes (notes and impact)"]
    return "\n".join(lines)


# ------------------------------------------------------------------------- whole merge

def whole_merge(desk: Path, work: Path, env: dict[str, str], tids: list[str],
                runs: int) -> str:
    from gitdesk import gitio
    from gitdesk.store.merging import merge_tips
    from gitdesk.yaml.ticket import parse_blob

    git(desk, env, "checkout", "-q", "-b", "m-theirs", "base")
    theirs = notes_commit(desk, tids, "Theirs: checked", T0 + timedelta(hours=6), env)
    git(desk, env, "checkout", "-q", "-b", "m-ours", "base")
    ours = notes_commit(desk, tids, "Ours: checked", T0 + timedelta(hours=5), env)
    base = git(desk, env, "merge-base", ours, theirs).strip()
    repo = gitio.open_repo(str(desk))
    expected = merge_tips(repo, base, ours, theirs, now=T0 + timedelta(hours=7))
    if len(expected.merged) != len(tids):
        raise SystemExit(f"the in-process merge merged {len(expected.merged)} tickets")

    plain = work / "desk-no-driver"
    if plain.exists():
        shutil.rmtree(plain)
    shutil.copytree(desk, plain, symlinks=True)
    git(plain, env, "config", "--remove-section", "merge.gitdesk")  # name alone: git fails
    hooks = sorted(p.name for p in (desk / ".git" / "hooks").iterdir()
                   if not p.name.endswith(".sample"))
    merge_env = at(env, T0 + timedelta(hours=7))
    driver, text = Series(), Series()

    def one(which: str) -> None:
        where = desk if which == "driver" else plain
        git(where, env, "reset", "-q", "--hard", ours)
        cmd = ["git", "merge", "-q", "--no-edit", theirs]
        if which == "driver":
            driver.timed(cmd, where, merge_env)
            tree = git(where, env, "rev-parse", "HEAD^{tree}").strip()
            if tree != expected.tree:
                raise SystemExit("git merge with the driver made another tree than "
                                 "gitdesk sync's merge")
        else:
            text.timed(cmd, where, merge_env, ok=(1,))
            unmerged = git(where, env, "diff", "--name-only", "--diff-filter=U").split()
            if len(unmerged) != len(tids):
                raise SystemExit(f"git's text merge conflicted in {len(unmerged)} files")
            git(where, env, "merge", "--abort")

    one("driver")
    one("text")
    driver.wall.clear()
    driver.cpu.clear()
    text.wall.clear()
    text.cpu.clear()
    for i in range(runs):
        for which in (("driver", "text") if i % 2 == 0 else ("text", "driver")):
            one(which)
    for tid in tids[:5]:  # spot check the files, beside the tree check of every run
        path = git(desk, env, "ls-files", f"*{tid}.yaml").strip()
        data = sh(["git", "show", f"HEAD:{path}"], desk, env)
        texts = [n["text"] for n in parse_blob(data, path)["notes"]]
        if f"Ours: checked ({tid})" not in texts or f"Theirs: checked ({tid})" not in texts:
            raise SystemExit(f"{path}: a note is missing after the merge")

    per = (driver.median() - text.median()) / len(tids)
    lines = [f"Whole merge: two branches that each noted all {len(tids)} tickets (both "
             f"sides changed every file), {runs} runs each, interleaved; wall ms",
             f"hooks in the clone: {', '.join(hooks) or 'none'}", "",
             HEADER, "-" * len(HEADER),
             driver.row(f"git merge, driver ({len(tids)} runs of it)", text),
             text.row(f"git merge, no driver ({len(tids)} conflicts)"), "",
             f"driver merge - text merge, per ticket file: {per:.1f} ms; the tree equals "
             "gitdesk sync's in-process merge"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the top of this file for what is measured.")
    p.add_argument("--runs", type=int, default=21, help="runs per file command (21)")
    p.add_argument("--merge-runs", type=int, default=7, help="runs of each whole merge (7)")
    p.add_argument("--tickets", type=int, default=50, help="tickets in the whole merge (50)")
    p.add_argument("--work", default=str(OUT / "merge-driver"), metavar="DIR",
                   help="scratch directory, replaced (default bench/out/merge-driver)")
    opts = p.parse_args(argv)
    work = Path(opts.work).absolute()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    env = environment(work)
    print(f"building the desk ({opts.tickets} tickets) ...", file=sys.stderr, flush=True)
    desk, path, tids = build_desk(work, env, opts.tickets)
    load = os.getloadavg()
    print("timing the driver per file ...", file=sys.stderr, flush=True)
    first = per_file(desk, work, env, path, opts.runs)
    print("timing whole merges ...", file=sys.stderr, flush=True)
    second = whole_merge(desk, work, env, tids, opts.merge_runs)
    version = sh([GITDESK, "--version"], desk, env).decode().strip()
    gitv = sh(["git", "--version"], desk, env).decode().strip()
    print(f"gitdesk merge driver — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} cores, {version}, {gitv}; load average {load[0]:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    print()
    print(first)
    print()
    print(second)
    return 0


if __name__ == "__main__":
    sys.exit(main())
