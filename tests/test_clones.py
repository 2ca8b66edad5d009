"""Three clones and a bare remote, random actions and syncs in random order (hypothesis).

After every clone has synced until nothing moves: every clone holds the same ticket
files byte for byte; no note or link anyone added was lost; a value that some
clone set and that is not the ticket's value now was either overwritten by a later
change made on top of it or is kept in the ticket's `conflicts`; `git fsck
--strict` and `gitdesk verify` pass in every clone.
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

pytestmark = pytest.mark.slow  # three clones, a few dozen commits and syncs per example

CLONES = ("ann", "bob", "carol")
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
    desks: dict[str, Gitdesk] = field(default_factory=dict)
    tickets: dict[str, set[str]] = field(default_factory=dict)  # clone -> IDs it holds
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
        Gitdesk(root)("init", str(root / "ann")).ok()
        ann = Gitdesk(root / "ann")
        first = [ann.ok("open", "incident", "-s", f"start {i}").strip() for i in range(2)]
        ann.git("remote", "add", "origin", str(root / "srv.git"))
        ann.git("push", "-q", "origin", "main")
        self.w.desks["ann"] = ann
        for name in CLONES[1:]:
            run(["git", "clone", "-q", str(root / "srv.git"), str(root / name)])
            desk = Gitdesk(root / name)
            desk.ok("doctor", "--fix")
            self.w.desks[name] = desk
        self.w.tickets = {name: set(first) for name in CLONES}
        self.w.notes = {tid: set() for tid in first}

    def teardown(self) -> None:
        shutil.rmtree(self.w.root, ignore_errors=True)

    def _text(self) -> str:
        self.w.counter += 1
        return f"n{self.w.counter}"

    @rule(who=st.sampled_from(CLONES))
    def open(self, who: str) -> None:
        desk = self.w.desks[who]
        tid = desk.ok("open", "incident", "-s", self._text()).strip()
        self.w.tickets[who].add(tid)
        self.w.notes[tid] = set()

    @rule(who=st.sampled_from(CLONES), pick=st.integers(0, 50))
    def note(self, who: str, pick: int) -> None:
        tid = self._pick(who, pick)
        if tid is None:
            return
        text = self._text()
        self.w.desks[who].ok("note", tid, "-m", text)
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
        desk.ok("set", tid, f"{key}={value}")
        if head(desk) != before:
            self.w.sets.append(Written(who, tid, key, value, head(desk)))

    @rule(who=st.sampled_from(CLONES), pick=st.integers(0, 50), move=st.sampled_from(MOVES))
    def transition(self, who: str, pick: int, move: str) -> None:
        tid = self._pick(who, pick)
        if tid is None:
            return
        desk = self.w.desks[who]
        if move == "assigned":
            desk("assign", tid, "test")
        elif move == "resolved":
            desk("resolve", tid, "--code", "fixed", "-m", "done")
        elif move == "pending":
            desk("transition", tid, "pending", "--reason", "awaiting-vendor")
        else:
            desk("transition", tid, move)  # refused where the workflow says no: fine

    @rule(who=st.sampled_from(CLONES), a=st.integers(0, 50), b=st.integers(0, 50))
    def link(self, who: str, a: int, b: int) -> None:
        first, second = self._pick(who, a), self._pick(who, b)
        if first is None or second is None or first == second:
            return
        if self.w.desks[who]("link", first, "related", second).exit_code == 0:
            self.w.links.add((first, second))

    @rule(who=st.sampled_from(CLONES))
    def sync(self, who: str) -> None:
        self.w.desks[who].ok("sync")
        self._learn(who)

    def _pick(self, who: str, pick: int) -> str | None:
        known = sorted(self.w.tickets[who])
        return known[pick % len(known)] if known else None

    def _learn(self, who: str) -> None:
        listed = json.loads(self.w.desks[who].ok("list", "--format", "json"))
        self.w.tickets[who] = {r["id"] for r in listed}

    def teardown_check(self) -> None:
        for _round in range(2):
            for name in CLONES:
                self.w.desks[name].ok("sync")
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
        for written in self.w.sets:
            _overwritten_or_recorded(ann, tickets.get(written.ticket), written, self.w.sets)
        for name in CLONES:
            desk = self.w.desks[name]
            fsck(desk.path)
            desk.ok("verify")


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
