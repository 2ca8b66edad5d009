"""Generate a synthetic gitdesk desk of N tickets, fast.

The first commit is exactly what `gitdesk init` makes (gitdesk.init.init_desk,
itil template). Everything after it is streamed into one `git fast-import`
process: no gitdesk CLI call per ticket. Ticket files are written in the byte
layout gitdesk itself writes (key order of gitdesk.model.KEY_ORDER, flow-style
notes and submitter); a sample is checked on every run: it must survive a
ruamel round trip byte for byte and pass gitdesk's own file verifier.

History (default --history batch): per batch of --batch tickets, one commit
opens them all in their initial state, --notes commits each add one work
note to every ticket of the batch, then one commit per workflow step moves the
tickets along a valid path of their workflow, read from the live config: the
shortest path to a closed state through a resolved one (incident and request:
new -> resolved -> closed; problem: new -> assess -> resolved -> closed),
filling what each state requires and avoiding approval gates. With --history per-ticket every
action is its own commit, as gitdesk would make it (about 3-5 commits per
ticket: 100,000 tickets give 300,000+ commits).

The --open most recent tickets stay open (default 200, whatever N is), so
`gitdesk list --open` prints the same amount at every desk size.

Examples:
  python bench/gen_desk.py --tickets 1000 --out bench/out/desk-1000 --bare
  python bench/gen_desk.py --tickets 100000 --out bench/out/desk-100000 --bare --seed 7
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from gitdesk.actions.init import init_desk, template_file
from gitdesk.domain import ids
from gitdesk.domain.config import DeskConfig, Workflow
from gitdesk.domain.model import KEY_ORDER, plain, ticket_path
from gitdesk.domain.workflow import derive_priority, due_time
from gitdesk.verify.configs import parse_config
from gitdesk.verify.files import check_file
from gitdesk.yaml import roundtrip as yamlio

BENCH_REF = "refs/bench/generated"
ADMIN_NAME = "Desk Admin"
ADMIN_EMAIL = "admin@example.org"  # person id "admin" in the policy init writes

DEFAULT_MIX = "incident:85,request:10,problem:5"
SUBJECTS = ("Web server", "Mail relay", "VPN gateway", "Laptop", "Printer", "Database",
            "File share", "Payroll app", "Wiki", "Build server", "Phone", "Load balancer")
PROBLEMS = ("not rendering pages", "slow to respond", "refuses logins", "out of disk space",
            "drops connections", "crashes on start", "shows certificate warning",
            "cannot be reached", "needs a licence", "asks for a new account")
NOTES = ("Called the user back", "Restarted the service", "Escalated to second line",
         "Waiting for the vendor", "Checked the logs", "Applied the known workaround",
         "Replaced the cable", "Cleared the queue")
SOLUTIONS = ("Restarted httpd", "Rotated the certificate", "Freed disk space",
             "Reset the password", "Replaced the toner", "Patched the package")
GROUPS = ("service-desk", "network", "cab")
# Keys a workflow state may require that the generator knows how to fill.
FILLABLE = ("assignee", "pending_reason", "resolution_code", "solution", "group", "ci",
            "submitter", "category")


@dataclass
class Ticket:
    tid: str
    type: str
    created: datetime
    data: dict[str, Any]  # top-level keys except notes; values are str, bool or dicts
    steps: tuple[str, ...]  # transitions still to apply, in order
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.data["status"])


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seeded_ulid(ms: int, rng: random.Random) -> str:
    """ids.ulid() with the 80 random bits from a seeded generator (reproducible)."""
    value = (ms << 80) | rng.getrandbits(80)
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(ids.CROCKFORD[rem])
    return "".join(reversed(chars))


def workflow_paths(wf: Workflow) -> dict[str, tuple[str, ...]]:
    """Shortest step sequences from the initial state to every state the generator
    can reach: no approval gates, only requirements it knows how to fill."""
    def usable(state: str) -> bool:
        st = wf.states[state]
        return not st.approval and all(key in FILLABLE for key in st.requires)

    paths: dict[str, tuple[str, ...]] = {wf.initial: ()}
    queue = [wf.initial]
    while queue:
        state = queue.pop(0)
        for nxt in wf.allowed(state):
            if nxt not in paths and nxt in wf.states and usable(nxt):
                paths[nxt] = (*paths[state], nxt)
                queue.append(nxt)
    return paths


def plan(config: DeskConfig, wf: Workflow) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """(path to a closed state, paths to each reachable open state) of a workflow."""
    paths = workflow_paths(wf)
    closed = [p for s, p in paths.items() if wf.category(s) == "closed" and s != "cancelled"]
    closed = closed or [p for s, p in paths.items() if wf.category(s) == "closed"]
    if not closed:
        raise SystemExit(f"workflow {wf.name}: no closed state reachable by the generator")
    # prefer a path through a resolved state (resolution code and solution recorded)
    closed.sort(key=lambda p: (not any(wf.category(s) == "resolved" for s in p), len(p)))
    opens = [p for s, p in paths.items() if wf.category(s) == "open"]
    return closed[0], opens


def parse_mix(text: str) -> list[tuple[str, int]]:
    mix = []
    for item in text.split(","):
        name, _, weight = item.partition(":")
        mix.append((name.strip(), int(weight or 1)))
    return mix


def make_tickets(config: DeskConfig, count: int, open_count: int, start: datetime,
                 end: datetime, mix: list[tuple[str, int]],
                 rng: random.Random) -> list[Ticket]:
    span = (end - start).total_seconds()
    stamps = sorted(rng.uniform(0, span) for _ in range(count))
    names = [name for name, _w in mix]
    weights = [w for _n, w in mix]
    requests = [e for e in getattr(config, "catalog", {}).values()
                if not getattr(e, "approvals", ())]
    plans: dict[tuple[str, str], tuple[tuple[str, ...], list[tuple[str, ...]]]] = {}
    seen: set[str] = set()
    tickets = []
    for i, offset in enumerate(stamps):
        created = (start + timedelta(seconds=offset)).replace(microsecond=0)
        type_name = rng.choices(names, weights)[0]
        ticket_type = config.types[type_name]
        while True:
            uid = seeded_ulid(int(created.timestamp() * 1000), rng)
            tid = ids.ticket_id(ticket_type.prefix, uid)
            if tid not in seen:
                seen.add(tid)
                break
        assert ids.ID_RE.match(tid), tid
        values = {"impact": rng.choice(config.impacts), "urgency": rng.choice(config.urgencies)}
        priority = derive_priority(config, values) or config.default_priority
        d: dict[str, Any] = {
            "id": tid, "uid": uid, "type": type_name,
            "summary": f"{rng.choice(SUBJECTS)} {rng.choice(PROBLEMS)}, case {i + 1}",
            **values, "priority": priority, "severity": rng.choice(config.severities),
            "ci": f"{rng.choice(('web', 'db', 'mail', 'lb', 'pc'))}{rng.randrange(1, 400):03d}",
            "group": rng.choice(GROUPS),
            "submitter": {"name": f"User {(n := rng.randrange(1, 2000))}",
                          "email": f"user{n}@example.org"},
            "created": iso(created),
        }
        if ticket_type.categories:
            d["category"] = rng.choice(sorted(ticket_type.categories))
            subs = ticket_type.categories[d["category"]]
            if subs:
                d["subcategory"] = rng.choice(subs)
        target = None
        if type_name == "request" and requests:
            entry = rng.choice(requests)
            d["request_type"] = entry.id
            d["approval_required"] = False
            if getattr(entry, "category", None):
                d["category"] = entry.category
                d.pop("subcategory", None)
            if getattr(entry, "group", None):
                d["group"] = entry.group
            target = getattr(entry, "target", None)
        due = created + target if target is not None else due_time(config, priority, created)
        if due is not None:
            d["due"] = iso(due)
        d["links"] = []
        d["fields"] = {f.id: f.default for f in ticket_type.fields if f.default is not None}
        wf = config.workflow_for(type_name, d)
        d["status"] = wf.initial
        key = (type_name, wf.name)
        if key not in plans:
            plans[key] = plan(config, wf)
        closing, opens = plans[key]
        steps = rng.choice(opens) if i >= count - open_count else closing
        tickets.append(Ticket(tid, type_name, created, d, steps))
    return tickets


def apply_step(config: DeskConfig, t: Ticket, target: str, at: datetime,
               rng: random.Random) -> None:
    """Move a ticket one step, filling what the target state requires."""
    wf = config.workflow_for(t.type, t.data)
    state = wf.states[target]
    if state.category == "resolved" or "resolution_code" in state.requires:
        t.data["resolution_code"] = rng.choice(config.resolution_codes)
        solution = rng.choice(SOLUTIONS)
        t.data["solution"] = solution
        t.notes.append(note_line(at, solution))
    if "assignee" in state.requires:
        t.data["assignee"] = "admin"
    if "pending_reason" in state.requires or target == "pending":
        t.data["pending_reason"] = config.pending_reasons[0]
    elif "pending_reason" in t.data:
        del t.data["pending_reason"]
    t.data["status"] = target


def note_line(at: datetime, text: str) -> str:
    return f"  - {{at: {iso(at)}, by: admin, text: {text}, internal: false}}\n"


_RANK = {key: i for i, key in enumerate(KEY_ORDER)}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(t: Ticket) -> bytes:
    """The ticket file as gitdesk writes it (model.KEY_ORDER, yamlio's layout)."""
    data = {**t.data, "notes": None}
    out = []
    for key in sorted(data, key=lambda k: _RANK.get(k, len(_RANK))):
        value = data[key]
        if key == "notes":
            out.append("notes:\n" + "".join(t.notes) if t.notes else "notes: []\n")
        elif isinstance(value, dict):
            inner = ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items())
            out.append(f"{key}: {{{inner}}}\n")
        elif isinstance(value, list):
            out.append(f"{key}: []\n")  # links: the generator makes none
        else:
            out.append(f"{key}: {_scalar(value)}\n")
    return "".join(out).encode()


class FastImport:
    """A `git fast-import` process fed through a buffered pipe."""

    def __init__(self, git_dir: Path) -> None:
        self.proc = subprocess.Popen(
            ["git", "--git-dir", str(git_dir), "fast-import", "--quiet", "--done"],
            stdin=subprocess.PIPE, bufsize=1 << 20)
        assert self.proc.stdin is not None
        self.out: IO[bytes] = self.proc.stdin
        self.commits = 0
        self.blobs = 0

    def commit(self, ref: str, when: datetime, message: str, files: dict[str, bytes],
               parent: str | None = None) -> None:
        w = self.out.write
        stamp = f"{int(when.timestamp())} +0000"
        msg = message.encode()
        w(f"commit {ref}\nauthor {ADMIN_NAME} <{ADMIN_EMAIL}> {stamp}\n"
          f"committer {ADMIN_NAME} <{ADMIN_EMAIL}> {stamp}\ndata {len(msg)}\n".encode())
        w(msg + b"\n")
        if parent:
            w(f"from {parent}\n".encode())
        for path, data in files.items():
            w(f"M 100644 inline {path}\ndata {len(data)}\n".encode())
            w(data + b"\n")
        self.commits += 1
        self.blobs += len(files)

    def close(self) -> None:
        self.out.write(b"done\n")
        self.out.close()
        if self.proc.wait() != 0:
            raise SystemExit("git fast-import failed")


def message(subject: str, action: str, tickets: list[str], extra: str = "") -> str:
    lines = [f"Gitdesk-Action: {action}"]
    if len(tickets) <= 3:
        lines += [f"Gitdesk-Ticket: {t}" for t in tickets]
    return f"{subject}\n\n" + "\n".join(lines) + (f"\n{extra}" if extra else "") + "\n"


def batch_history(fi: FastImport, config: DeskConfig, ref: str, parent: str,
                  tickets: list[Ticket], batch: int, notes: int, rng: random.Random) -> None:
    first = True
    last_time = tickets[0].created
    for b in range(0, len(tickets), batch):
        group = tickets[b:b + batch]
        when = max(group[-1].created, last_time)

        def emit(subject: str, action: str, changed: list[Ticket], when: datetime) -> None:
            nonlocal first
            files = {ticket_path(t.type, t.tid): render(t) for t in changed}
            fi.commit(ref, when, message(subject, action, [t.tid for t in changed]), files,
                      parent if first else None)
            first = False

        n = b // batch + 1
        emit(f"Import batch {n}: open {len(group)} tickets", "import", group, when)
        for k in range(notes):
            when += timedelta(minutes=1)
            for t in group:
                t.notes.append(note_line(when, rng.choice(NOTES)))
            emit(f"Import batch {n}: work notes ({k + 1})", "import", group, when)
        step = 0
        while True:
            moving = [t for t in group if len(t.steps) > step]
            if not moving:
                break
            when += timedelta(minutes=1)
            for t in moving:
                apply_step(config, t, t.steps[step], when, rng)
            emit(f"Import batch {n}: workflow step {step + 1} ({len(moving)} tickets)",
                 "import", moving, when)
            step += 1
        last_time = when


def per_ticket_history(fi: FastImport, config: DeskConfig, ref: str, parent: str,
                       tickets: list[Ticket], notes: int, rng: random.Random) -> None:
    """One commit per action, in time order across tickets (like real use)."""
    events: list[tuple[datetime, int, int]] = []  # (when, ticket index, event number)
    for i, t in enumerate(tickets):
        when = t.created
        for k in range(1 + notes + len(t.steps)):
            events.append((when, i, k))
            when += timedelta(minutes=rng.randrange(5, 60 * 24))
    events.sort()
    first = True
    for when, i, k in events:
        t = tickets[i]
        if k == 0:
            subject, action, extra = f"{t.tid}: open — {t.data['summary']}", "open", ""
        elif k <= notes:
            text = rng.choice(NOTES)
            t.notes.append(note_line(when, text))
            subject, action, extra = f"{t.tid}: note — {text}", "note", ""
        else:
            source = t.status
            apply_step(config, t, t.steps[k - notes - 1], when, rng)
            subject, action = f"{t.tid}: {source} -> {t.status}", "transition"
            extra = f"Gitdesk-From: {source}\nGitdesk-To: {t.status}"
        fi.commit(ref, when, message(subject, action, [t.tid], extra),
                  {ticket_path(t.type, t.tid): render(t)}, parent if first else None)
        first = False


def self_check(config: DeskConfig, tickets: list[Ticket], rng: random.Random) -> None:
    """A sample of ticket files: they read back as the data meant (no stray comment or
    type), in gitdesk's byte layout, pass gitdesk's verifier, and gitdesk's fast
    reader (if this version has one) accepts them as it accepts gitdesk's own output."""
    try:
        from gitdesk.yaml import reader as fastyaml
    except ImportError:
        fastyaml = None
    sample = rng.sample(tickets, min(300, len(tickets)))
    for t in sample:
        path = ticket_path(t.type, t.tid)
        data = render(t)
        root = yamlio.load(data, path)
        if yamlio.dump(root) != data:
            raise SystemExit(f"{path}: not in gitdesk's layout:\n{data.decode()}\n---\n"
                             f"{yamlio.dump(root).decode()}")
        read = plain(root)
        wrong = {k: (v, read.get(k)) for k, v in t.data.items() if read.get(k) != v}
        if wrong or len(read.get("notes") or []) != len(t.notes):
            raise SystemExit(f"{path}: reads back differently: {wrong}")
        problems = check_file(config, path, root)
        if problems:
            raise SystemExit(f"{path}: {problems}")
        if fastyaml is not None and fastyaml.loads(data.decode()) != read:
            raise SystemExit(f"{path}: gitdesk.fastyaml declines or misreads it:\n"
                             f"{data.decode()}")


def run(cmd: list[str], cwd: Path | None = None) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def generate(args: argparse.Namespace) -> None:
    out = Path(args.out).resolve()
    bare_out = Path(args.bare_out).resolve() if args.bare_out else out.with_name(out.name + ".git")
    for target in (out, *([bare_out] if args.bare else [])):
        if target.exists():
            if not args.force:
                raise SystemExit(f"{target} exists (pass --force to replace it)")
            shutil.rmtree(target)
    rng = random.Random(args.seed)
    end = datetime.fromisoformat(args.end).replace(tzinfo=UTC) if args.end else \
        datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=args.days)
    t0 = time.perf_counter()

    # 1. The first commit: exactly `gitdesk init` (back-dated to before the first ticket).
    stamp = f"{int((start - timedelta(days=1)).timestamp())} +0000"
    os.environ.update({"GIT_AUTHOR_NAME": ADMIN_NAME, "GIT_AUTHOR_EMAIL": ADMIN_EMAIL,
                       "GIT_COMMITTER_NAME": ADMIN_NAME, "GIT_COMMITTER_EMAIL": ADMIN_EMAIL,
                       "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
    desk, written = init_desk(out, template="itil")
    for key in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        os.environ.pop(key)
    git = ["git", "-C", str(out)]
    run([*git, "config", "gc.auto", "0"])  # no surprise auto-gc inside a timed run
    config = parse_config(template_file("itil", "config.yaml"))

    # 2. Tickets, then history through one fast-import stream.
    tickets = make_tickets(config, args.tickets, min(args.open, args.tickets), start, end,
                           parse_mix(args.mix), rng)
    self_check(config, tickets, rng)
    fi = FastImport(out / ".git")
    if args.history == "batch":
        batch_history(fi, config, desk.ref, written.commit, tickets, args.batch, args.notes, rng)
    else:
        per_ticket_history(fi, config, desk.ref, written.commit, tickets, args.notes, rng)
    fi.close()
    self_check(config, tickets, rng)  # final states too
    t_import = time.perf_counter()

    # 3. Pack, check out, remember the generated tip (run.py resets to it).
    if not args.no_repack:
        run([*git, "repack", "-adq"])
    run([*git, "pack-refs", "--all"])
    t_pack = time.perf_counter()
    run([*git, "-c", "checkout.workers=0", "reset", "--hard", "-q", "HEAD"])
    tip = run([*git, "rev-parse", "HEAD"]).strip()
    run([*git, "update-ref", BENCH_REF, tip])
    t_checkout = time.perf_counter()
    if args.bare:
        run(["git", "clone", "--bare", "-q", str(out), str(bare_out)])
        run(["git", "-C", str(bare_out), "config", "gc.auto", "0"])
        run(["git", "-C", str(bare_out), "update-ref", BENCH_REF, tip])
        run(["git", "-C", str(bare_out), "remote", "remove", "origin"])
    t_end = time.perf_counter()

    open_count = sum(1 for t in tickets if config.workflow_for(t.type, t.data).category(
        t.status) == "open")
    print(f"desk {out}: {len(tickets)} tickets ({open_count} open), {fi.commits + 1} commits, "
          f"{fi.blobs} blob writes; tip {tip[:10]}", file=sys.stderr)
    print(f"  generate+fast-import {t_import - t0:.1f} s, repack {t_pack - t_import:.1f} s, "
          f"checkout {t_checkout - t_pack:.1f} s"
          + (f", bare clone {t_end - t_checkout:.1f} s ({bare_out})" if args.bare else ""),
          file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tickets", type=int, default=1000, help="number of tickets (default 1000)")
    p.add_argument("--out", required=True, help="path of the desk to create (a checkout)")
    p.add_argument("--bare", action="store_true",
                   help="also make a bare clone (default path: OUT.git)")
    p.add_argument("--bare-out", help="path of the bare clone")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--open", type=int, default=200,
                   help="tickets left open, the most recent ones (default 200)")
    p.add_argument("--mix", default=DEFAULT_MIX,
                   help=f"ticket types and weights (default {DEFAULT_MIX})")
    p.add_argument("--batch", type=int, default=100, help="tickets per import batch")
    p.add_argument("--notes", type=int, default=1, help="work notes per ticket (default 1)")
    p.add_argument("--history", choices=("batch", "per-ticket"), default="batch",
                   help="batch: a few commits per --batch tickets; per-ticket: one commit "
                        "per action (3-5 per ticket)")
    p.add_argument("--days", type=int, default=730, help="days of history (default 730)")
    p.add_argument("--end", help="date of the last ticket, YYYY-MM-DD (default: today)")
    p.add_argument("--no-repack", action="store_true", help="leave fast-import's pack as is")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    generate(parse_args(argv))


if __name__ == "__main__":
    main()
