"""Three clones and a bare remote, random actions and syncs in random order (hypothesis).

Each clone is one person's: alice (the admin, in the CAB), bob (CAB) and carol
(DBA), each with an SSH signing key in the policy. Incidents are opened, noted,
set, moved and linked; changes (RFCs) are opened and brought to `authorize`,
approved (a signed commit), scheduled and replanned, in any clone, with syncs in
between. After every clone has synced until nothing moves: every clone holds the
same ticket files byte for byte; no note, approval or link anyone added was lost;
a value that some clone set and that is not the ticket's value now was either
overwritten by a later change made on top of it or is kept in the ticket's
`conflicts`; `git fsck --strict` and `gitdesk verify` pass in every clone.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from support.cli import Gitdesk
from support.git import fsck, run
from support.people import Desk, Person, ready_change, staffed_desk, team

pytestmark = pytest.mark.slow  # three clones, a few dozen commits and syncs per example

CLONES = ("ann", "bob", "carol")
PEOPLE = {"ann": "alice", "bob": "bob", "carol": "carol"}  # whose clone it is
FIELDS = {"impact": ("low", "medium", "high"), "urgency": ("low", "medium", "high"),
          "ci": ("web01", "web02", "db01")}
MOVES = ("assigned", "in-progress", "pending", "resolved", "closed", "reopen")


@dataclass
class Written:
    clone: str
    ticket: str
    field: str
    value: str
    commit: str


@dataclass
class World:
    root: Path
    desks: dict[str, Desk] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)     # clone -> its person
    tickets: dict[str, set[str]] = field(default_factory=dict)  # clone -> incidents it holds
    changes: dict[str, set[str]] = field(default_factory=dict)  # clone -> RFCs it holds
    approvals: set[tuple[str, str]] = field(default_factory=set)  # (RFC, approver)
    notes: dict[str, set[str]] = field(default_factory=dict)    # ticket -> note texts
    links: set[tuple[str, str]] = field(default_factory=set)    # (ticket, other)
    sets: list[Written] = field(default_factory=list)
    counter: int = 0


def head(desk: Gitdesk) -> str:
    return desk.git("rev-parse", "HEAD").strip()


class Clones(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        root = Path(tempfile.mkdtemp(prefix="gitdesk-clones-"))
        self.w = World(root)
        run(["git", "init", "-q", "--bare", "-b", "main", str(root / "srv.git")])
        people = team(root)
        self.w.people = {clone: people[person] for clone, person in PEOPLE.items()}
        ann = staffed_desk(root / "ann", people)
        first = [ann.ok_as(people["alice"], "open", "incident", "-s", f"start {i}").strip()
                 for i in range(2)]
        rfc = ready_change(ann, people["dave"])
        ann.git("remote", "add", "origin", str(root / "srv.git"))
        ann.git("push", "-q", "origin", "main")
        self.w.desks["ann"] = ann
        for name in CLONES[1:]:
            run(["git", "clone", "-q", str(root / "srv.git"), str(root / name)])
            desk = Desk(root / name)
            desk.ok_as(self.w.people[name], "doctor", "--fix")
            self.w.desks[name] = desk
        self.w.tickets = {name: set(first) for name in CLONES}
        self.w.changes = {name: {rfc} for name in CLONES}
        self.w.notes = {tid: set() for tid in [*first, rfc]}

    def teardown(self) -> None:
        shutil.rmtree(self.w.root, ignore_errors=True)

    def _text(self) -> str:
        self.w.counter += 1
        return f"n{self.w.counter}"

    def _run(self, who: str, *args: str) -> Any:
        """A gitdesk command in the clone, as its person (signing key included)."""
        return self.w.desks[who].as_(self.w.people[who], *args)

    def _ok(self, who: str, *args: str) -> str:
        return str(self._run(who, *args).ok().stdout)

    @rule(who=st.sampled_from(CLONES))
    def open(self, who: str) -> None:
        tid = self._ok(who, "open", "incident", "-s", self._text()).strip()
        self.w.tickets[who].add(tid)
        self.w.notes[tid] = set()

    @rule(who=st.sampled_from(CLONES), pick=st.integers(0, 50))
    def note(self, who: str, pick: int) -> None:
        tid = self._pick(who, pick)
        if tid is None:
            return
        text = self._text()
        self._ok(who, "note", tid, "-m", text)
        self.w.notes[tid].add(text)

    @rule(who=st.sampled_from(CLONES), pick=st.integers(0, 50),
          key=st.sampled_from(sorted(FIELDS)), choice=st.integers(0, 2))
    def set_value(self, who: str, pick: int, key: str, choice: int) -> None:
        tid = self._pick(who, pick)
        if tid is None:
            return
        desk = self.w.desks[who]
        value = FIELDS[key][choice]
        before = head(desk)
        self._ok(who, "set", tid, f"{key}={value}")
        if head(desk) != before:
            self.w.sets.append(Written(who, tid, key, value, head(desk)))

    @rule(who=st.sampled_from(CLONES), pick=st.integers(0, 50), move=st.sampled_from(MOVES))
    def transition(self, who: str, pick: int, move: str) -> None:
        tid = self._pick(who, pick)
        if tid is None:
            return
        if move == "assigned":
            self._run(who, "assign", tid, "test")
        elif move == "resolved":
            self._run(who, "resolve", tid, "--code", "fixed", "-m", "done")
        elif move == "pending":
            self._run(who, "transition", tid, "pending", "--reason", "awaiting-vendor")
        else:
            self._run(who, "transition", tid, move)  # refused where the workflow says no: fine

    @rule(who=st.sampled_from(CLONES), a=st.integers(0, 50), b=st.integers(0, 50))
    def link(self, who: str, a: int, b: int) -> None:
        first, second = self._pick(who, a), self._pick(who, b)
        if first is None or second is None or first == second:
            return
        if self._run(who, "link", first, "related", second).exit_code == 0:
            self.w.links.add((first, second))

    @rule(who=st.sampled_from(CLONES))
    def rfc(self, who: str) -> None:
        """A change brought to `authorize` by its requester (this clone's person)."""
        tid = ready_change(self.w.desks[who], self.w.people[who], summary=self._text())
        self.w.changes[who].add(tid)
        self.w.notes[tid] = set()

    @rule(who=st.sampled_from(CLONES), pick=st.integers(0, 50), then_schedule=st.booleans())
    def approve(self, who: str, pick: int, then_schedule: bool) -> None:
        """Refused where this person may not approve (not CAB, the requester, done);
        an approval that authorizes the change is often followed by scheduling it."""
        tid = self._pick(who, pick, self.w.changes)
        if tid is not None and self._run(who, "approve", tid, "-m", "ok").exit_code == 0:
            self.w.approvals.add((tid, self.w.people[who].id))
            if then_schedule:
                self._run(who, "transition", tid, "scheduled")

    @rule(who=st.sampled_from(CLONES), pick=st.integers(0, 50))
    def schedule(self, who: str, pick: int) -> None:
        tid = self._pick(who, pick, self.w.changes)
        if tid is not None:
            self._run(who, "transition", tid, "scheduled")  # refused without approvals

    @rule(who=st.sampled_from(CLONES), pick=st.integers(0, 50))
    def replan(self, who: str, pick: int) -> None:
        """Refused past the approval gate; below it, voids the approvals given."""
        tid = self._pick(who, pick, self.w.changes)
        if tid is None:
            return
        desk, plan = self.w.desks[who], f"apt-get install nginx ({self._text()})"
        before = head(desk)
        if self._run(who, "set", tid, f"implementation_plan={plan}").exit_code == 0 \
                and head(desk) != before:
            self.w.sets.append(Written(who, tid, "implementation_plan", plan, head(desk)))

    @rule(who=st.sampled_from(CLONES))
    def sync(self, who: str) -> None:
        self._ok(who, "sync")
        self._learn(who)

    def _pick(self, who: str, pick: int,
              among: dict[str, set[str]] | None = None) -> str | None:
        known = sorted((self.w.tickets if among is None else among)[who])
        return known[pick % len(known)] if known else None

    def _learn(self, who: str) -> None:
        listed = json.loads(self._ok(who, "list", "--format", "json"))
        self.w.tickets[who] = {r["id"] for r in listed if r["id"].startswith("INC-")}
        self.w.changes[who] = {r["id"] for r in listed if r["id"].startswith("CHG-")}

    def teardown_check(self) -> None:
        for _round in range(2):
            for name in CLONES:
                self._ok(name, "sync")
        files = [_files(self.w.desks[name]) for name in CLONES]
        assert files[0] == files[1] == files[2], "clones disagree after syncing"
        ann = self.w.desks["ann"]
        tickets = {json.loads(ann.ok("show", tid, "--format", "json"))["id"]:
                   json.loads(ann.ok("show", tid, "--format", "json"))
                   for tid in {r["id"] for r in json.loads(ann.ok("list", "--format", "json"))}}
        for tid, texts in self.w.notes.items():
            if tid not in tickets:
                continue  # renumbered: its notes are checked under the new ID below
            have = {n["text"] for n in tickets[tid].get("notes", [])}
            assert texts <= have, f"{tid} lost notes {texts - have}"
        all_notes = {n["text"] for t in tickets.values() for n in t.get("notes", [])}
        assert set().union(*self.w.notes.values()) <= all_notes
        for first, second in self.w.links:
            if first in tickets and second in tickets:
                linked = {x["id"] for x in tickets[first].get("links", [])}
                assert second in linked, f"{first} lost its link to {second}"
        for tid, who in self.w.approvals:
            if tid in tickets:
                given = {a["by"] for a in tickets[tid].get("approvals", [])}
                assert who in given, f"{tid} lost the approval of {who}"
        for written in self.w.sets:
            _overwritten_or_recorded(ann, tickets.get(written.ticket), written, self.w.sets)
        for name in CLONES:
            desk = self.w.desks[name]
            fsck(desk.path)
            verified = desk("verify")
            assert verified.exit_code == 0, verified.stdout + verified.stderr


def _files(desk: Gitdesk) -> dict[str, str]:
    out = {}
    for line in desk.git("ls-tree", "-r", "HEAD", "tickets").splitlines():
        meta, path = line.split("\t")
        out[path] = meta.split()[2]
    return out


def _overwritten_or_recorded(desk: Gitdesk, data: dict[str, Any] | None, written: Written,
                             sets: list[Written]) -> None:
    if data is None or str(data.get(written.field)) == written.value:
        return
    later = [w for w in sets if w is not written and w.ticket == written.ticket
             and w.field == written.field and w.commit != written.commit
             and run(["git", "merge-base", "--is-ancestor", written.commit, w.commit],
                     cwd=desk.path, check=False).returncode == 0]
    if later:
        return  # changed again on top of it: an ordinary edit, not a lost one
    recorded = {str(c.get("value")) for c in data.get("conflicts", [])
                if c.get("field") == written.field} | \
        {str(c.get("kept")) for c in data.get("conflicts", []) if c.get("field") == written.field}
    assert written.value in recorded, \
        f"{written.ticket}: {written.field}={written.value} by {written.clone} was lost"


class ClonesThatSettle(Clones):
    def teardown(self) -> None:
        try:
            self.teardown_check()
        finally:
            super().teardown()


TestClones = ClonesThatSettle.TestCase
TestClones.settings = settings(max_examples=10, stateful_step_count=20, deadline=None,
                               suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.filter_too_much])
