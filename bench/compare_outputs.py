#!/usr/bin/env python3
"""Prove that a refactor of gitdesk leaves every CLI output byte-identical.

Standalone (Python 3.11, stdlib only). It drives a gitdesk *executable* (`--gitdesk BIN`), so
the version under test is whatever that executable imports, never this process.

Sub-commands:

  build   --gitdesk BIN --out DIR        build the two reference desks with BIN:
            DIR/demo    `gitdesk demo DIR/demo --until 2026-11-20 19:30:00`
            DIR/import  `gitdesk init` + `gitdesk import servicenow` of the committed
                        200-incident slice (tests/fixtures/servicenow/...slice.csv)
            DIR/log/    what those commands printed (paths and timings normalised)
  capture --gitdesk BIN --desks DIR --out OUTDIR
                                         run every read command with BIN against fresh
            copies of DIR's desks (.git/gitdesk/, the derived index and caches, removed
            from the copy, so each version builds its own) and write one file per
            command: the command line, exit code, stdout and stderr (byte for byte; the
            copy's path is replaced by <DESK>, the scratch dir by <WORK>)
  diff    A B                            compare two capture directories file by file
                                         (exit 1 if any file differs or is missing)
  trees   DIR_A DIR_B                    compare two `build` outputs: tip files (blob ids),
            every commit (message, author, committer, tree, parent count, signed or not;
            signature bytes are ignored), refs, working tree status and the build logs

The workflow for a refactor (the outputs go under bench/out/, which is git-ignored):

  # before the refactor, with the old executable:
  python bench/compare_outputs.py build   --gitdesk OLD/gitdesk --out bench/out/desks-before
  python bench/compare_outputs.py capture --gitdesk OLD/gitdesk \\
         --desks bench/out/desks-before --out bench/out/outputs-before
  # after it: the read paths, against the SAME desks ...
  python bench/compare_outputs.py capture --gitdesk NEW/gitdesk \\
         --desks bench/out/desks-before --out bench/out/outputs-after
  python bench/compare_outputs.py diff bench/out/outputs-before bench/out/outputs-after
  # ... and the write paths: build again with the new executable and compare the desks
  python bench/compare_outputs.py build --gitdesk NEW/gitdesk --out bench/out/desks-after
  python bench/compare_outputs.py trees bench/out/desks-before bench/out/desks-after

Isolation: every gitdesk and git process runs with HOME in a scratch directory, a scratch
global git config (fixed user.name/email, init.defaultBranch=main), GIT_CONFIG_NOSYSTEM=1,
TZ=UTC, LC_ALL=C.UTF-8, COLUMNS=80, no GIT_*/GITDESK_* variables from the caller, fixed
GIT_AUTHOR_DATE/GIT_COMMITTER_DATE where the desk does not date its own commits, and
bytecode cached in the scratch directory (nothing is written next to the sources). Nothing
here needs the network; no notify.smtp is configured, so nothing is sent.

Determinism. Every read command that would use the wall clock gets a fixed time
(`report --as-of`, `problems suggest --now`); nothing else in the outputs depends on it
(`changes calendar --format ics` stamps DTSTAMP with the tip commit's time). Each desk's
first two commands run alone and in order (they build the index cold: current state, then
events); the rest run --jobs at a time. Two captures of the same desks were byte-identical
(2,188 files; ~7-9 minutes on 2 cores), each process with its own random PYTHONHASHSEED.

The demo is not reproducible on its own: it draws the random part of every ticket's ULID,
and so its ID, from os.urandom (gitdesk's ids.ulid), and ssh-keygen makes new random key
pairs for its approvers, whose public keys go into the first commit's .gitdesk/policy.yaml,
so every tree and commit id differs from there on. (Two builds without the shims below are
otherwise the same: mapping IDs, uids, keys and approval content hashes, which hash text
that names IDs, to placeholders makes every commit and file equal.) `build` therefore runs
gitdesk with two shims (`--no-shims` turns them off): a sitecustomize.py on PYTHONPATH that
replaces os.urandom by a stream from a fixed seed, and an `ssh-keygen` first on PATH that
answers key generation with an ed25519 key derived from the key file's name (everything
else, e.g. `-Y sign`, goes to the real ssh-keygen). Ed25519 signatures are deterministic,
so with the shims two builds are identical down to the commit ids. Both versions get the
same shims, so the comparison stays fair; log/shims.txt records how often os.urandom was
called, which `trees` compares too. The import desk needs no shim: its IDs derive from the
ServiceNow numbers and every commit is dated.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import difflib
import hashlib
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_CSV = ROOT / "tests" / "fixtures" / "servicenow" / "incident_event_log_slice.csv"
DESKS = ("demo", "import")
DEMO_UNTIL = "2026-11-20 19:30:00"
DEMO_DATE = "2026-11-20T19:30:00Z"  # the demo dates its own commits; this is only a default
INIT_DATE = "2016-02-01T00:00:00Z"  # before the slice's first event (2016-02-29)
IMPORT_DATE = "2016-02-01T00:05:00Z"  # the import's config commit; its rows carry their dates
USER_NAME, USER_EMAIL = "Compare Outputs", "compare-outputs@example.org"
META = "_meta.json"  # in a capture directory: what made it (not compared)
TIMEOUT = 600
SEED_ENV = "GITDESK_COMPARE_SEED"
SHIM_LOG_ENV = "GITDESK_COMPARE_SHIM_LOG"
REAL_SSH_KEYGEN_ENV = "GITDESK_COMPARE_REAL_SSH_KEYGEN"
KEY_LABEL = b"gitdesk bench/compare_outputs.py demo key\0"

REPORTS = ("summary", "aging", "resolution", "past-due", "detail", "sla", "changes", "weekly")
REPORT_FORMATS = ("text", "markdown", "html", "csv", "json")
TABLE_FORMATS = ("table", "json", "yaml", "csv")
SHOW_FORMATS = ("text", "table", "json", "yaml", "csv")
HISTORY_FORMATS = ("table", "json", "yaml", "csv")
CALENDAR_FORMATS = ("table", "json", "yaml", "csv", "ics", "html")
VERIFY_FORMATS = ("text", "json", "github")
LIST_COLUMNS = "id,type,status,priority,category,ci,group,assignee,summary"


@dataclass(frozen=True)
class Times:
    """The fixed moments one desk's read commands use instead of the wall clock."""

    as_of: str  # report --as-of (the desk's "now")
    past: str  # report --as-of a past date
    rev: str  # report --as-of REV, list/show/doctor --at REV
    now: str  # problems suggest --now
    start: str  # a date range: --from ... --to ...
    end: str
    field: str  # report detail --field, list --columns fields.X


TIMES = {
    "demo": Times(as_of=DEMO_DATE, past="2026-10-15", rev="HEAD~40", now=DEMO_DATE,
                  start="2026-10-01", end="2026-12-01", field="outage_minutes"),
    "import": Times(as_of="2017-02-20T00:00:00Z", past="2016-04-15", rev="HEAD~600",
                    now="2016-03-15T12:00:00Z", start="2016-03-01", end="2016-04-01",
                    field="servicenow_number"),
}


# ------------------------------------------------------------------ processes


@dataclass
class Scratch:
    """A scratch directory with HOME, a global git config and a bytecode cache."""

    root: Path
    env: dict[str, str]

    @property
    def home(self) -> Path:
        return self.root / "home"


def make_scratch(prefix: str) -> Scratch:
    root = Path(tempfile.mkdtemp(prefix=prefix)).resolve()
    home = root / "home"
    home.mkdir()
    gitconfig = root / "gitconfig"
    gitconfig.write_text(f"[user]\n\tname = {USER_NAME}\n\temail = {USER_EMAIL}\n"
                         "[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
           "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_TERMINAL_PROMPT": "0", "GIT_CEILING_DIRECTORIES": str(root.parent),
           "TZ": "UTC", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "COLUMNS": "80", "LINES": "24",
           "EDITOR": "false", "VISUAL": "false", "PAGER": "cat", "GIT_PAGER": "cat",
           "TMPDIR": str(root), "PYTHONPYCACHEPREFIX": str(root / "pycache")}
    return Scratch(root, env)


def check_home(scratch: Scratch) -> None:
    left = sorted(p.name for p in scratch.home.iterdir())
    if left:
        print(f"warning: gitdesk wrote into HOME: {', '.join(left)}", file=sys.stderr)


@dataclass
class Result:
    args: list[str]
    code: int
    stdout: bytes
    stderr: bytes
    seconds: float


def run(cmd: Sequence[str], cwd: Path, env: dict[str, str],
        stdin: bytes | None = None) -> Result:
    started = time.perf_counter()
    try:
        proc = subprocess.run(list(cmd), cwd=cwd, env=env, input=stdin if stdin is not None
                              else b"", capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        return Result(list(cmd), -9, exc.stdout or b"",
                      (exc.stderr or b"") + f"\n[timed out after {TIMEOUT} s]\n".encode(),
                      time.perf_counter() - started)
    return Result(list(cmd), proc.returncode, proc.stdout, proc.stderr,
                  time.perf_counter() - started)


def git(path: Path, *args: str, env: dict[str, str] | None = None,
        stdin: bytes | None = None) -> bytes:
    result = run(["git", "-C", str(path), *args], path, env or git_env(), stdin)
    if result.code != 0:
        raise SystemExit(f"git {' '.join(args)} in {path} failed ({result.code}): "
                         f"{result.stderr.decode('utf-8', 'replace').strip()}")
    return result.stdout


def git_env() -> dict[str, str]:
    """For git reads of finished desks: no user or system config, fixed locale."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C",
            "TZ": "UTC"}


def gitdesk_exe(text: str) -> str:
    found = shutil.which(text)
    if found is None:
        raise SystemExit(f"{text}: not an executable")
    return str(Path(found).absolute())


def version_of(exe: str, env: dict[str, str], cwd: Path) -> str:
    result = run([exe, "--version"], cwd, env)
    return result.stdout.decode("utf-8", "replace").strip() or f"exit {result.code}"


def normalise(data: bytes, subs: Sequence[tuple[str, str]]) -> bytes:
    """Replace each path (longest first) by its placeholder."""
    for old, new in sorted(subs, key=lambda s: -len(s[0])):
        if old:
            data = data.replace(old.encode(), new.encode())
    return data


def record(args: Sequence[str], place: str, result: Result,
           subs: Sequence[tuple[str, str]], extra: Sequence[tuple[str, bytes]] = ()) -> bytes:
    """One command's file: command line, exit code, stdout, stderr (and written files),
    each with the paths in subs replaced by their placeholders."""
    shown = shlex.join(normalise(a.encode(), subs).decode() for a in args)
    stdout, stderr = normalise(result.stdout, subs), normalise(result.stderr, subs)
    parts = [f"$ gitdesk {shown}\n# cwd: {normalise(place.encode(), subs).decode()}\n"
             f"# exit: {result.code}\n# stdout: {len(stdout)} bytes\n".encode(), stdout,
             f"\n# stderr: {len(stderr)} bytes\n".encode(), stderr]
    for name, data in extra:
        data = normalise(data, subs)
        parts += [f"\n# file {name}: {len(data)} bytes\n".encode(), data]
    return b"".join(parts)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# ------------------------------------------------------------------ determinism shims

SITECUSTOMIZE = '''\
"""Written by bench/compare_outputs.py (build): os.urandom from a fixed seed.

gitdesk draws the random part of every ticket ID from os.urandom; with this, a demo desk
gets the same IDs in every build. The number of calls is logged at exit."""
import atexit
import hashlib
import os

_seed = os.environ.get("GITDESK_COMPARE_SEED")
if _seed:
    _key = hashlib.sha256(_seed.encode()).digest()
    _state = {"block": 0, "calls": 0, "bytes": 0}
    _buffer = bytearray()

    def _urandom(size):
        while len(_buffer) < size:
            _buffer.extend(hashlib.sha256(_key + _state["block"].to_bytes(8, "big")).digest())
            _state["block"] += 1
        out = bytes(_buffer[:size])
        del _buffer[:size]
        _state["calls"] += 1
        _state["bytes"] += size
        return out

    def _log():
        path = os.environ.get("GITDESK_COMPARE_SHIM_LOG")
        if path and _state["calls"]:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"{_seed}: os.urandom called {_state['calls']} times, "
                             f"{_state['bytes']} bytes\\n")

    os.urandom = _urandom
    atexit.register(_log)
'''

_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
Point = tuple[int, int, int, int]


def _recover_x(y: int) -> int:
    xx = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P:
        x = x * _SQRT_M1 % _P
    return _P - x if x & 1 else x


_BY = 4 * pow(5, _P - 2, _P) % _P
_BX = _recover_x(_BY)
_BASE: Point = (_BX, _BY, 1, _BX * _BY % _P)


def _add(p: Point, q: Point) -> Point:
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a, b = (y1 - x1) * (y2 - x2) % _P, (y1 + x1) * (y2 + x2) % _P
    c, d = 2 * t1 * t2 * _D % _P, 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def ed25519_public(seed: bytes) -> bytes:
    """The ed25519 public key of a 32-byte seed (RFC 8032, 5.1.5)."""
    digest = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(digest[:32], "little") & ((1 << 254) - 8) | (1 << 254)
    point, result = _BASE, (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point, scalar = _add(point, point), scalar >> 1
    x, y, z, _t = result
    inverse = pow(z, _P - 2, _P)
    x, y = x * inverse % _P, y * inverse % _P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def openssh_ed25519(seed: bytes, comment: str) -> tuple[str, str]:
    """(private key file, public key line) of an unencrypted OpenSSH ed25519 key."""
    public = ed25519_public(seed)
    blob = _ssh_string(b"ssh-ed25519") + _ssh_string(public)
    check = hashlib.sha256(b"check" + seed).digest()[:4] * 2
    private = (check + _ssh_string(b"ssh-ed25519") + _ssh_string(public)
               + _ssh_string(seed + public) + _ssh_string(comment.encode()))
    private += bytes(range(1, 1 + (-len(private)) % 8))
    body = (b"openssh-key-v1\0" + _ssh_string(b"none") + _ssh_string(b"none")
            + _ssh_string(b"") + struct.pack(">I", 1) + _ssh_string(blob) + _ssh_string(private))
    text = base64.b64encode(body).decode()
    lines = [text[i:i + 70] for i in range(0, len(text), 70)]
    armored = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(lines) + \
        "\n-----END OPENSSH PRIVATE KEY-----\n"
    line = f"ssh-ed25519 {base64.b64encode(blob).decode()}"
    return armored, f"{line} {comment}".rstrip() + "\n"


def fake_ssh_keygen(argv: list[str]) -> int:
    """`ssh-keygen` for build: ed25519 key generation is deterministic, the rest is real."""
    real = os.environ.get(REAL_SSH_KEYGEN_ENV) or "ssh-keygen"
    other = {"-Y", "-y", "-l", "-p", "-e", "-i", "-F", "-R", "-s", "-A", "-c", "-B", "-k"}
    generating = "-f" in argv and not other & set(argv)
    kind = argv[argv.index("-t") + 1] if "-t" in argv[:-1] else "ed25519"
    if not generating or kind != "ed25519" or argv.index("-f") + 1 >= len(argv):
        os.execv(real, [real, *argv])
    path = Path(argv[argv.index("-f") + 1])
    comment = argv[argv.index("-C") + 1] if "-C" in argv[:-1] else ""
    private, public = openssh_ed25519(hashlib.sha256(KEY_LABEL + path.name.encode()).digest(),
                                      comment)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(private)
    Path(f"{path}.pub").write_text(public, encoding="ascii")
    return 0


def install_shims(scratch: Scratch) -> None:
    """PYTHONPATH sitecustomize (seeded os.urandom) and an ssh-keygen first on PATH."""
    real = shutil.which("ssh-keygen", path=scratch.env["PATH"])
    if real is None:
        raise SystemExit("ssh-keygen is not on PATH (the demo needs it)")
    site, tools = scratch.root / "shims" / "site", scratch.root / "shims" / "bin"
    site.mkdir(parents=True)
    tools.mkdir(parents=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    shim = tools / "ssh-keygen"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} "
                    f"{shlex.quote(str(Path(__file__).resolve()))} _ssh-keygen \"$@\"\n",
                    encoding="utf-8")
    shim.chmod(0o755)
    scratch.env.update({"PYTHONPATH": str(site), REAL_SSH_KEYGEN_ENV: real,
                        "PATH": f"{tools}{os.pathsep}{scratch.env['PATH']}"})


# ------------------------------------------------------------------ build


PROGRESS = re.compile(rb"^gitdesk: import: \d+% \(.*\n", re.MULTILINE)
SECONDS = re.compile(rb" in \d+(?:\.\d+)? s$", re.MULTILINE)


def build_log(result: Result, args: Sequence[str], cwd: Path,
              subs: Sequence[tuple[str, str]]) -> bytes:
    """A build command's record; the import's progress lines and its duration are the
    only parts that depend on the machine, so they are dropped / replaced."""
    stderr = SECONDS.sub(b" in <SECONDS> s", PROGRESS.sub(b"", result.stderr))
    clean = Result(result.args, result.code, result.stdout, stderr, result.seconds)
    return record(args, str(cwd), clean, subs)


def cmd_build(opts: argparse.Namespace) -> int:
    exe = gitdesk_exe(opts.gitdesk)
    out = Path(opts.out).absolute()
    csv = Path(opts.csv).absolute()
    if not csv.is_file():
        raise SystemExit(f"{csv}: no such file")
    if out.exists() and any(out.iterdir()):
        if not opts.force:
            raise SystemExit(f"{out} exists and is not empty (--force replaces it)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "log").mkdir()
    scratch = make_scratch("gitdesk-compare-build-")
    shim_log = scratch.root / "shims.log"
    if not opts.no_shims:
        install_shims(scratch)
        scratch.env[SHIM_LOG_ENV] = str(shim_log)
    subs = [(str(out), "<OUT>"), (str(scratch.root), "<WORK>"), (str(csv), "<CSV>")]
    started = time.perf_counter()
    steps: list[tuple[str, list[str], Path, str]] = []
    if "demo" in opts.desks:
        steps.append(("demo", ["demo", str(out / "demo"), "--until", DEMO_UNTIL],
                      scratch.root, DEMO_DATE))
    if "import" in opts.desks:
        steps += [("init", ["init", str(out / "import")], scratch.root, INIT_DATE),
                  ("import", ["import", "servicenow", str(csv)], out / "import", IMPORT_DATE)]
    try:
        for name, args, cwd, date in steps:
            env = {**scratch.env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
            if not opts.no_shims:
                env[SEED_ENV] = name
            print(f"build: gitdesk {' '.join(args)}", file=sys.stderr, flush=True)
            result = run([exe, *args], cwd, env)
            (out / "log" / f"{name}.txt").write_bytes(build_log(result, args, cwd, subs))
            if result.code != 0:
                sys.stderr.write(result.stderr.decode("utf-8", "replace"))
                raise SystemExit(f"build: gitdesk {' '.join(args)} exited {result.code}")
        if not opts.no_shims:
            log = shim_log.read_bytes() if shim_log.exists() else b""
            (out / "log" / "shims.txt").write_bytes(log)
            if "demo" in opts.desks:
                check_demo_keys(out / "demo")
        check_home(scratch)
        info = {"gitdesk": exe, "version": version_of(exe, scratch.env, scratch.root),
                "demo_until": DEMO_UNTIL, "csv": str(csv),
                "csv_sha256": hashlib.sha256(csv.read_bytes()).hexdigest(),
                "shims": not opts.no_shims, "desks": list(opts.desks),
                "seconds": round(time.perf_counter() - started, 1)}
        (out / "build.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    finally:
        if not opts.keep_scratch:
            shutil.rmtree(scratch.root, ignore_errors=True)
    for desk in opts.desks:
        count = len(git(out / desk, "rev-list", "HEAD").split())
        print(f"build: {out / desk}: {count} commits", file=sys.stderr)
    print(f"build: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def check_demo_keys(desk: Path) -> None:
    """The demo's keys are the shim's (so the ssh-keygen shim was used)."""
    folder = desk / ".git" / "gitdesk" / "demo-keys"
    for public in sorted(folder.glob("*.pub")) if folder.is_dir() else []:
        seed = hashlib.sha256(KEY_LABEL + public.stem.encode()).digest()
        expected = openssh_ed25519(seed, "")[1].split()[1]
        if public.read_text(encoding="ascii").split()[1] != expected:
            raise SystemExit(f"build: {public} is not the shim's key: was ssh-keygen "
                             "called through PATH?")


# ------------------------------------------------------------------ capture


@dataclass(frozen=True)
class Cmd:
    """One read command. {desk} in args is the desk copy's path; place: a desk name,
    "help" (a scratch directory) or "outside" (an empty directory, no desk)."""

    group: str
    args: tuple[str, ...]
    place: str
    output: str | None = None  # a file the command writes (-o), recorded too


def slug(args: Sequence[str]) -> str:
    words = [re.sub(r"[^A-Za-z0-9.,=+@~-]+", "_", a.lstrip("-")).strip("_") or "_"
             for a in args]
    return "_".join(words) or "no-arguments"


def file_names(cmds: Sequence[Cmd]) -> list[str]:
    """A file name per command (group/slug.txt), unique and the same for every version."""
    names = [f"{c.group}/{slug(c.args)[:110]}" for c in cmds]
    seen = Counter(names)
    out = []
    for name, cmd in zip(names, cmds, strict=True):
        if seen[name] > 1 or len(name) > 150:
            digest = hashlib.sha1(json.dumps([cmd.place, *cmd.args]).encode()).hexdigest()
            name = f"{name}-{digest[:8]}"
        out.append(f"{name}.txt")
    if len(set(out)) != len(out):
        raise SystemExit("capture: two commands map to the same file name")
    return out


def help_commands(exe: str, scratch: Scratch) -> list[Cmd]:
    """--help of every command and sub-command, as the executable lists them."""
    cmds = [Cmd("help", (), "help"), Cmd("help", ("--help",), "help"),
            Cmd("help", ("-h",), "help"), Cmd("help", ("--version",), "help"),
            Cmd("help", ("no-such-command",), "help"),
            Cmd("help", ("import", "servicenow", "--show-mapping"), "help")]
    pending: list[tuple[str, ...]] = [()]
    while pending:
        path = pending.pop(0)
        result = run([exe, *path, "--help"], scratch.root, scratch.env)
        for name in subcommands(result.stdout.decode("utf-8", "replace")):
            cmds.append(Cmd("help", (*path, name, "--help"), "help"))
            pending.append((*path, name))
    return cmds


def subcommands(text: str) -> list[str]:
    """The names in the "Commands:" section of a click help page."""
    names, inside = [], False
    for line in text.splitlines():
        if line.strip() == "Commands:":
            inside = True
        elif inside and re.match(r"^  \S", line):
            names.append(line.split()[0])
        elif inside and not line.startswith("   "):
            inside = False  # a blank line or the next section ends it
    return names


def outside_commands() -> list[Cmd]:
    return [Cmd("outside", args, "outside") for args in (
        ("list",), ("show", "INC-AAAA"), ("report", "summary", "--as-of", "2026-01-01"),
        ("doctor",), ("verify",))]


@dataclass
class Inventory:
    """What a desk holds, from its own listing: ticket IDs and frequent values."""

    ids: list[str]
    rows: list[dict[str, Any]]
    listed: int = 0
    in_tree: int = 0
    problems: list[str] = field(default_factory=list)

    def top(self, key: str, n: int = 1) -> list[str]:
        counts = Counter(str(r[key]) for r in self.rows if r.get(key))
        return [v for v, _c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def inventory(listing: bytes, desk: Path) -> Inventory:
    try:
        rows = json.loads(listing)
    except ValueError as exc:
        raise SystemExit(f"capture: gitdesk list --format json in {desk} did not print "
                         f"JSON: {exc}") from exc
    listed = {str(r["id"]) for r in rows}
    paths = git(desk, "ls-tree", "-r", "--name-only", "HEAD", "--", "tickets").decode()
    in_tree = {Path(p).stem for p in paths.split()}
    if listed != in_tree:
        print(f"warning: {desk}: list shows {len(listed)} tickets, the tree holds "
              f"{len(in_tree)}; capturing all of them", file=sys.stderr)
    return Inventory(sorted(listed | in_tree), rows, len(listed), len(in_tree))


def prologue(desk: str) -> list[Cmd]:
    """Run first and in order: they build the index (current state, then events)."""
    t = TIMES[desk]
    return [Cmd(f"{desk}/list", ("list", "--format", "json", "--columns", LIST_COLUMNS), desk),
            Cmd(f"{desk}/report", ("report", "summary", "--as-of", t.as_of), desk)]


def desk_commands(desk: str, inv: Inventory) -> list[Cmd]:
    t = TIMES[desk]
    cmds: list[Cmd] = []

    def add(group: str, *args: str, output: str | None = None) -> None:
        cmds.append(Cmd(f"{desk}/{group}", args, desk, output))

    # reports: every report in every format at a fixed time; REV and a past date
    for name in REPORTS:
        for fmt in REPORT_FORMATS:
            if (name, fmt) != ("summary", "text"):  # that one is in the prologue
                add("report", "report", name, "--as-of", t.as_of, "--format", fmt)
        for moment in (t.rev, t.past):
            for fmt in ("text", "json", "csv"):
                add("report", "report", name, "--as-of", moment, "--format", fmt)
    add("report", "report", "summary", "--as-of", f"{t.past}T12:00:00Z")
    add("report", "report", "aging", "--as-of", t.as_of, "--buckets", "30,60,90")
    add("report", "report", "aging", "--as-of", t.as_of, "--buckets", "7,14", "--type",
        "incident", "--format", "json")
    add("report", "report", "resolution", "--as-of", t.as_of, "--type", "incident",
        "--buckets", "2,7,30,60")
    add("report", "report", "detail", "--as-of", t.as_of, "--field", t.field, "--sort",
        "-created", "--format", "csv")
    add("report", "report", "detail", "--as-of", t.as_of, "--sort", "priority", "--format",
        "markdown")
    add("report", "report", "sla", "--as-of", t.as_of, "--type", "incident", "--format",
        "markdown")
    add("report", "report", "summary", "--as-of", t.as_of, "--from", t.start, "--to", t.end)
    add("report", "report", "past-due", "--as-of", t.as_of, "--where",
        "priority in (critical, high)", "--format", "json")
    add("report", "report", "weekly", "--as-of", t.as_of, "--type", "incident", "--format",
        "markdown")
    add("report", "report", "weekly", "--as-of", t.as_of, "--format", "html", "-o",
        "{out}/weekly.html", output="weekly.html")
    add("report", "report", "detail", "--as-of", t.as_of, "--format", "csv", "-o",
        "{out}/detail.csv", output="detail.csv")
    add("report", "report", "no-such-report", "--as-of", t.as_of)
    add("report", "report", "summary", "--as-of", "no-such-revision")
    add("report", "report", "summary", "--as-of", t.as_of, "--where", "priority in (")

    # list: filters x formats
    group, assignee = (inv.top("group") or ["none"])[0], (inv.top("assignee") or ["none"])[0]
    ci, category = (inv.top("ci") or ["none"])[0], (inv.top("category") or ["none"])[0]
    filters: list[tuple[str, ...]] = [
        (), ("--open",), ("--resolved",), ("--closed",), ("incident",), ("change",),
        ("request", "problem"), ("--status", "pending"), ("--status", "new", "--status",
                                                          "assigned"),
        ("--priority", "high"), ("--group", group), ("--assignee", assignee), ("--ci", ci),
        ("--category", category), ("--escalated",),
        ("--where", "priority in (critical, high) and not status = closed"),
        ("--where", f"ci ~ {ci[:3]} or (category = \"{category}\" and status != closed)"),
        ("--sort", "-created", "--limit", "10"), ("--sort", "summary"),
        ("--columns", f"id,status,created,due,fields.{t.field}"),
        ("--at", t.rev), ("--open", "--group", group, "--sort", "-priority"),
    ]
    for flt in filters:
        for fmt in TABLE_FORMATS:
            add("list", "list", *flt, "--format", fmt)
    for wrong in (("--where", "priority in ("), ("--sort", "no-such-key"),
                  ("--status", "no-such-status"), ("no-such-type",), ("--limit", "0")):
        add("list", "list", *wrong)
    add("list", "--repo", "{desk}", "list", "--open")
    add("list", "--branch", "main", "list", "--open", "--format", "csv")

    # show and history: every ticket
    for tid in inv.ids:
        for fmt in SHOW_FORMATS:
            add("show", "show", tid, "--format", fmt)
        add("history", "history", tid)
    for tid in inv.ids[:3]:
        prefix, _dash, rest = tid.partition("-")
        add("show", "show", f"{prefix}-{rest[:4]}")
        add("show", "show", rest[:5].lower())
        add("show", "show", tid, "--at", t.rev)
        add("show", "show", tid, "--at", t.rev, "--format", "json")
        for fmt in HISTORY_FORMATS[1:]:
            add("history", "history", tid, "--format", fmt)
    for bad in ("INC-ZZZZZZZZ", "INC-Z", "not-an-id!"):
        add("show", "show", bad)
    add("history", "history", "INC-ZZZZZZZZ")

    # verify, doctor, people, catalog, changes, kedb, problems, ci
    for fmt in VERIFY_FORMATS:
        add("verify", "verify", "--format", fmt)
    add("verify", "verify", "HEAD~10..HEAD")
    add("verify", "verify", "no-such-rev..HEAD")
    add("doctor", "doctor")
    add("doctor", "doctor", "--at", t.rev)
    for fmt in TABLE_FORMATS:
        add("people", "people", "list", "--format", fmt)
        add("catalog", "catalog", "--format", fmt)
        add("changes", "changes", "collisions", "--format", fmt)
    for fmt in CALENDAR_FORMATS:
        add("changes", "changes", "calendar", "--format", fmt)
    for fmt in ("table", "json", "ics"):
        add("changes", "changes", "calendar", "--all", "--format", fmt)
    for fmt in ("table", "json", "html"):
        add("changes", "changes", "calendar", "--from", t.start, "--to", t.end, "--format",
            fmt)
    queries = ["pages not rendering", "vpn", "dns", "disk full", "network", *inv.problems]
    for query in dict.fromkeys(queries):
        for fmt in ("table", "json"):
            add("kedb", "kedb", "search", query, "--format", fmt)
    add("kedb", "kedb", "search", "web", "--ci", ci, "--category", category, "--limit", "2")
    for fmt in ("yaml", "csv"):
        add("kedb", "kedb", "search", "server", "--format", fmt)
    for fmt in TABLE_FORMATS:
        add("problems", "problems", "suggest", "--now", t.now, "--format", fmt)
    for fmt in ("table", "json"):
        add("problems", "problems", "suggest", "--now", t.now, "--window", "30d", "--min",
            "2", "--format", fmt)
    add("problems", "problems", "suggest", "--now", t.now, "--window", "bogus")
    for name in [*inv.top("ci", 3), "no-such-ci"]:
        for fmt in TABLE_FORMATS:
            add("ci", "ci", name, "--format", fmt)
    return cmds


def execute(exe: str, cmd: Cmd, cwd: Path, env: dict[str, str], out_dir: Path,
            subs: Sequence[tuple[str, str]]) -> tuple[bytes, Result]:
    args = [a.replace("{desk}", str(cwd)).replace("{out}", str(out_dir)) for a in cmd.args]
    if cmd.output:
        remove(out_dir / cmd.output)
    result = run([exe, *args], cwd, env)
    extra = []
    if cmd.output:
        written = out_dir / cmd.output
        extra.append((cmd.output, written.read_bytes() if written.is_file() else b"(none)"))
    place = "<DESK>" if cmd.place in DESKS else f"<{cmd.place.upper()}>"
    return record(args, place, result, [(str(out_dir), "<OUT>"), *subs], extra), result


def cmd_capture(opts: argparse.Namespace) -> int:
    exe = gitdesk_exe(opts.gitdesk)
    desks_dir = Path(opts.desks).absolute()
    out = Path(opts.out).absolute()
    present = [d for d in DESKS if (desks_dir / d / ".git").is_dir()]
    if not present:
        raise SystemExit(f"{desks_dir}: holds neither demo/ nor import/ (run build first)")
    if out.exists() and any(out.iterdir()):
        if not opts.force:
            raise SystemExit(f"{out} exists and is not empty (--force replaces it)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = make_scratch("gitdesk-compare-capture-")
    started, seconds = time.perf_counter(), 0.0
    codes: Counter[int] = Counter()
    count = 0
    try:
        (scratch.root / "outside").mkdir()
        places: dict[str, Path] = {"help": scratch.root, "outside": scratch.root / "outside"}
        for desk in present:
            copy = scratch.root / "desks" / desk
            shutil.copytree(desks_dir / desk, copy, symlinks=True)
            remove(copy / ".git" / "gitdesk")
            places[desk] = copy
        subs = [(str(p), "<DESK>") for d, p in places.items() if d in DESKS]
        subs.append((str(scratch.root), "<WORK>"))
        lock = threading.Lock()

        def one(cmd: Cmd, name: str) -> Result:
            nonlocal count
            written = scratch.root / "written" / hashlib.sha1(name.encode()).hexdigest()[:16]
            written.mkdir(parents=True, exist_ok=True)
            data, result = execute(exe, cmd, places[cmd.place], scratch.env, written, subs)
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            with lock:
                codes[result.code] += 1
                count += 1
            return result

        work: list[Cmd] = []
        for desk in present:
            first = prologue(desk)
            results = [one(cmd, name)  # in order, alone: the cold index builds
                       for cmd, name in zip(first, file_names(first), strict=True)]
            inv = inventory(results[0].stdout, places[desk])
            inv.problems = [" ".join(str(r.get("summary") or "").split()[:2])
                            for r in inv.rows if r.get("type") == "problem"][:3]
            print(f"capture: {desk}: {len(inv.ids)} tickets", file=sys.stderr, flush=True)
            work += desk_commands(desk, inv)
        work += help_commands(exe, scratch) + outside_commands()
        names = file_names(work)
        taken = {str(p.relative_to(out)) for p in out.rglob("*.txt")}
        if taken & set(names):
            raise SystemExit(f"capture: file names collide: {sorted(taken & set(names))[:3]}")
        total = count + len(work)
        with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as pool:
            futures = [pool.submit(one, cmd, name) for cmd, name in zip(work, names,
                                                                       strict=True)]
            step = max(1, len(futures) // 10)
            for n, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                future.result()
                if n % step == 0:
                    print(f"capture: {count}/{total} commands, "
                          f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        check_home(scratch)
        seconds = time.perf_counter() - started
        meta = {"gitdesk": exe, "version": version_of(exe, scratch.env, scratch.root),
                "desks": str(desks_dir), "files": count, "seconds": round(seconds, 1),
                "exit_codes": {str(k): v for k, v in sorted(codes.items())}}
        (out / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    finally:
        if not opts.keep_scratch:
            shutil.rmtree(scratch.root, ignore_errors=True)
        else:
            print(f"capture: scratch kept in {scratch.root}", file=sys.stderr)
    exits = ", ".join(f"exit {k}: {v}" for k, v in sorted(codes.items()))
    print(f"capture: {count} files in {out} in {seconds:.0f} s ({exits})", file=sys.stderr)
    return 0


# ------------------------------------------------------------------ diff


def files_under(top: Path) -> set[str]:
    if not top.is_dir():
        return set()
    return {p.relative_to(top).as_posix() for p in top.rglob("*")
            if p.is_file() and p.relative_to(top).as_posix() != META}


def short_diff(a: bytes, b: bytes, name: str, lines: int) -> list[str]:
    text = list(difflib.unified_diff(a.decode("utf-8", "replace").splitlines(),
                                     b.decode("utf-8", "replace").splitlines(),
                                     f"a/{name}", f"b/{name}", n=1, lineterm=""))
    more = [f"    ... ({len(text) - lines} more diff lines)"] if len(text) > lines else []
    return [f"    {line}" for line in text[:lines]] + more


def cmd_diff(opts: argparse.Namespace) -> int:
    a, b = Path(opts.a), Path(opts.b)
    for top in (a, b):
        if not top.is_dir():
            raise SystemExit(f"{top}: not a directory")
    in_a, in_b = files_under(a), files_under(b)
    differ = only_a = only_b = 0
    for name in sorted(in_a | in_b):
        if name not in in_b:
            only_a += 1
            print(f"only in {a}: {name}")
        elif name not in in_a:
            only_b += 1
            print(f"only in {b}: {name}")
        else:
            old, new = (a / name).read_bytes(), (b / name).read_bytes()
            if old != new:
                differ += 1
                print(f"differs: {name}")
                print("\n".join(short_diff(old, new, name, opts.lines)))
    both = len(in_a & in_b)
    print(f"{both} files compared: {both - differ} identical, {differ} differ; "
          f"{only_a} only in {a}, {only_b} only in {b}")
    return 1 if differ or only_a or only_b else 0


# ------------------------------------------------------------------ trees


@dataclass
class Commit:
    oid: str
    tree: str
    parents: int
    headers: list[tuple[str, bytes]]  # everything but tree, parent and signatures
    signature: bytes | None
    message: bytes


SIGNATURE_HEADERS = ("gpgsig", "gpgsig-sha256")


def commits(desk: Path) -> list[Commit]:
    """Every commit of HEAD, oldest first (topological order), parsed from the raw object."""
    oids = git(desk, "rev-list", "--reverse", "--topo-order", "HEAD").decode().split()
    raw = git(desk, "cat-file", "--batch", stdin="".join(f"{o}\n" for o in oids).encode())
    out, pos = [], 0
    for oid in oids:
        end = raw.index(b"\n", pos)
        header = raw[pos:end].split()
        size = int(header[2])
        body = raw[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
        head, _sep, message = body.partition(b"\n\n")
        fields: list[tuple[str, bytes]] = []
        for line in head.split(b"\n"):
            if line.startswith(b" ") and fields:
                fields[-1] = (fields[-1][0], fields[-1][1] + b"\n" + line[1:])
            else:
                raw_key, _space, value = line.partition(b" ")
                fields.append((raw_key.decode(), value))
        tree = next(v.decode() for k, v in fields if k == "tree")
        signature = next((v for k, v in fields if k in SIGNATURE_HEADERS), None)
        rest = [(k, v) for k, v in fields if k not in ("tree", "parent", *SIGNATURE_HEADERS)]
        out.append(Commit(oid, tree, sum(k == "parent" for k, _v in fields), rest, signature,
                          message))
    return out


def tip_files(desk: Path) -> dict[str, tuple[str, str]]:
    listing = git(desk, "ls-tree", "-r", "-z", "--full-tree", "HEAD").decode()
    files = {}
    for entry in filter(None, listing.split("\0")):
        meta, _tab, path = entry.partition("\t")
        mode, _kind, oid = meta.split()
        files[path] = (mode, oid)
    return files


def compare_desk(a: Path, b: Path, name: str, lines: int) -> list[str]:
    """The differences between two builds of one desk (empty: identical)."""
    problems: list[str] = []
    files_a, files_b = tip_files(a), tip_files(b)
    paths = [p for p in sorted(set(files_a) | set(files_b)) if files_a.get(p) != files_b.get(p)]
    for n, path in enumerate(paths):
        if n == 10:
            problems.append(f"{name}: ... {len(paths)} paths differ at the tip in all "
                            f"({sum(p not in files_b for p in paths)} only in {a}, "
                            f"{sum(p not in files_a for p in paths)} only in {b})")
            break
        if path not in files_b:
            problems.append(f"{name}: {path}: only in {a}")
        elif path not in files_a:
            problems.append(f"{name}: {path}: only in {b}")
        else:
            problems.append(f"{name}: {path}: differs at the tip (mode, blob {files_a[path]} "
                            f"vs {files_b[path]})")
            if files_a[path][0] == files_b[path][0] == "100644" and n < 3:
                old = git(a, "cat-file", "blob", files_a[path][1])
                new = git(b, "cat-file", "blob", files_b[path][1])
                problems += short_diff(old, new, path, lines)
    history_a, history_b = commits(a), commits(b)
    if len(history_a) != len(history_b):
        problems.append(f"{name}: {len(history_a)} commits vs {len(history_b)}")
    differing = 0
    for n, (x, y) in enumerate(zip(history_a, history_b, strict=False), start=1):
        what = [label for label, p, q in (
            ("tree", x.tree, y.tree), ("parent count", x.parents, y.parents),
            ("message", x.message, y.message),
            ("author", dict(x.headers).get("author"), dict(y.headers).get("author")),
            ("committer", dict(x.headers).get("committer"), dict(y.headers).get("committer")),
            ("other headers", [h for h in x.headers if h[0] not in ("author", "committer")],
             [h for h in y.headers if h[0] not in ("author", "committer")]),
            ("signed", x.signature is not None, y.signature is not None)) if p != q]
        if what:
            differing += 1
            if differing <= 3:
                problems.append(f"{name}: commit {n} of {len(history_a)} ({x.oid[:10]} vs "
                                f"{y.oid[:10]}) differs in {', '.join(what)}")
                if "message" in what:
                    problems += short_diff(x.message, y.message, f"commit {n} message", lines)
                for label in ("author", "committer"):
                    if label in what:
                        problems.append(f"    {label}: {dict(x.headers).get(label)!r} vs "
                                        f"{dict(y.headers).get(label)!r}")
    if differing > 3:
        problems.append(f"{name}: ... {differing} commits differ in all")
    for label, args in (("HEAD", ("symbolic-ref", "-q", "HEAD")),
                        ("refs", ("for-each-ref", "--format=%(refname)")),
                        ("working tree status", ("status", "--porcelain", "--untracked=all"))):
        left, right = git(a, *args), git(b, *args)
        if left != right:
            problems.append(f"{name}: {label} differs: {left.decode()!r} vs {right.decode()!r}")
    if not problems:
        signed = [(x, y) for x, y in zip(history_a, history_b, strict=True) if x.signature]
        same_sig = sum(x.signature == y.signature for x, y in signed)
        same_ids = sum(x.oid == y.oid for x, y in zip(history_a, history_b, strict=True))
        print(f"{name}: identical: {len(files_a)} files at the tip, {len(history_a)} commits "
              f"({len(signed)} signed, {same_sig} with identical signature bytes; "
              f"{same_ids} identical commit ids)")
    return problems


def cmd_trees(opts: argparse.Namespace) -> int:
    a, b = Path(opts.a), Path(opts.b)
    problems: list[str] = []
    for top in (a, b):
        if not top.is_dir():
            raise SystemExit(f"{top}: not a directory")
    infos = []
    for top in (a, b):
        path = top / "build.json"
        infos.append(json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {})
    for key in ("csv_sha256", "shims", "demo_until"):
        if infos[0].get(key) != infos[1].get(key):
            problems.append(f"build.json: {key} differs: {infos[0].get(key)!r} vs "
                            f"{infos[1].get(key)!r} (the builds are not comparable)")
    compared = 0
    for desk in DESKS:
        here, there = (a / desk / ".git").is_dir(), (b / desk / ".git").is_dir()
        if here != there:
            problems.append(f"{desk}: built in only one of the two")
        elif here:
            compared += 1
            problems += compare_desk(a / desk, b / desk, desk, opts.lines)
    logs = files_under(a / "log") | files_under(b / "log")
    for name in sorted(logs):
        left, right = a / "log" / name, b / "log" / name
        if not left.is_file() or not right.is_file():
            problems.append(f"log/{name}: only in one of the two")
        elif left.read_bytes() != right.read_bytes():
            problems.append(f"log/{name}: the build command's output differs")
            problems += short_diff(left.read_bytes(), right.read_bytes(), f"log/{name}",
                                   opts.lines)
    if not compared:
        problems.append("no desk to compare (run build first)")
    for line in problems:
        print(line)
    if problems:
        print(f"trees: DIFFERENT ({sum(not p.startswith('    ') for p in problems)} "
              "differences)")
        return 1
    print(f"trees: identical ({compared} desks, {len(logs)} build logs)")
    return 0


# ------------------------------------------------------------------ main


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog="See the module docstring (or the top of this file) "
                                          "for the workflow.")
    sub = main.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build the demo and import desks with BIN")
    p.add_argument("--gitdesk", required=True, metavar="BIN", help="the gitdesk executable")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--csv", default=str(DEFAULT_CSV), help="the ServiceNow log to import "
                   "(default: the committed slice)")
    p.add_argument("--desks", nargs="+", choices=DESKS, default=list(DESKS))
    p.add_argument("--no-shims", action="store_true",
                   help="no seeded os.urandom and no deterministic ssh-keygen: the demo's IDs "
                        "and keys are then random")
    p.add_argument("--force", action="store_true", help="replace DIR if it is not empty")
    p.add_argument("--keep-scratch", action="store_true")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("capture", help="run every read command, one output file each")
    p.add_argument("--gitdesk", required=True, metavar="BIN")
    p.add_argument("--desks", required=True, metavar="DIR", help="a build directory")
    p.add_argument("--out", required=True, metavar="OUTDIR")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 2,
                   help="parallel commands (after each desk's index is built; default: cores)")
    p.add_argument("--force", action="store_true", help="replace OUTDIR if it is not empty")
    p.add_argument("--keep-scratch", action="store_true")
    p.set_defaults(func=cmd_capture)
    p = sub.add_parser("diff", help="compare two capture directories")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--lines", type=int, default=20, help="diff lines shown per file")
    p.set_defaults(func=cmd_diff)
    p = sub.add_parser("trees", help="compare two build directories")
    p.add_argument("a", metavar="DIR_A")
    p.add_argument("b", metavar="DIR_B")
    p.add_argument("--lines", type=int, default=20, help="diff lines shown per difference")
    p.set_defaults(func=cmd_trees)
    return main


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["_ssh-keygen"]:  # the build's ssh-keygen shim
        return fake_ssh_keygen(args[1:])
    opts = parser().parse_args(args)
    result: int = opts.func(opts)
    return result


if __name__ == "__main__":
    sys.exit(main())
