"""The demo desk: a scenario of gitdesk commands replayed with back-dated dates.

The scenario (examples/repo/scenario.yaml, shipped in the package) lists
people and groups, then steps: `{day, time, as, run, save}`. `day` counts days
before the demo's end date; `run` is a gitdesk command line in which `$name`
stands for an ID saved by an earlier step. A `background` block adds
deterministic filler tickets (seeded random choices from its lists).
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import click

from gitdesk import yamlio
from gitdesk.config import POLICY_PATH
from gitdesk.errors import GitdeskError
from gitdesk.init import init_desk
from gitdesk.store import Change, Desk

SCENARIO_NAME = "demo-scenario.yaml"


def scenario_text() -> bytes:
    packaged = resources.files("gitdesk").joinpath("templates", SCENARIO_NAME)
    if packaged.is_file():
        return packaged.read_bytes()
    source = Path(__file__).resolve().parents[2] / "examples" / "repo" / "scenario.yaml"
    if source.is_file():
        return source.read_bytes()
    raise GitdeskError("the demo scenario is missing from this installation",
                       hint="reinstall gitdesk (pip install .)")


@contextlib.contextmanager
def _as(person: dict[str, str], when: datetime) -> Iterator[None]:
    stamp = f"{int(when.timestamp())} +0000"
    env = {"GIT_AUTHOR_NAME": person["name"], "GIT_AUTHOR_EMAIL": person["email"],
           "GIT_COMMITTER_NAME": person["name"], "GIT_COMMITTER_EMAIL": person["email"],
           "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_command(repo: Path, args: list[str]) -> str:
    """Run one gitdesk command in-process; returns its stdout."""
    from gitdesk.cli import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            cli.main(args=["--repo", str(repo), *args], prog_name="gitdesk",
                     standalone_mode=False)
        except click.exceptions.Exit as exc:
            if exc.exit_code:
                raise GitdeskError(f"gitdesk {shlex.join(args)} exited {exc.exit_code}") \
                    from exc
    return out.getvalue()


def build(path: Path, *, until: datetime | None = None) -> Desk:
    scenario = yamlio.plain(yamlio.load(scenario_text(), "scenario.yaml"))
    end = (until or datetime.now(UTC)).replace(second=0, microsecond=0)
    people = scenario["people"]
    first = people[scenario["admin"]]
    start = _when(end, scenario["start"])
    with _as(first, start):
        if path.exists() and any(path.iterdir()):
            raise GitdeskError(f"{path} exists and is not empty", hint="give a new directory")
        desk, _ = init_desk(path)
        _write_policy(desk, scenario)
    saved: dict[str, str] = {}
    for step in _steps(scenario):
        when = _when(end, step)
        args = [saved.get(a[1:], a) if a.startswith("$") else a for a in shlex.split(step["run"])]
        with _as(people[step["as"]], when):
            try:
                output = run_command(path, args)
            except GitdeskError as exc:
                raise GitdeskError(f"demo step {step['run']!r} failed: {exc}") from exc
        if step.get("save"):
            saved[step["save"]] = output.strip()
    return desk


def _when(end: datetime, step: dict[str, Any]) -> datetime:
    hours, _, minutes = str(step.get("time", "09:00")).partition(":")
    day = (end - timedelta(days=int(step["day"]))).replace(hour=int(hours), minute=int(minutes))
    return min(day, end)


def _write_policy(desk: Desk, scenario: dict[str, Any]) -> None:
    policy = yamlio.block_map({"version": 1})
    policy["people"] = yamlio.block_map({
        pid: yamlio.flow_map({"name": p["name"], "email": p["email"], "keys": []})
        for pid, p in scenario["people"].items()})
    policy["groups"] = yamlio.block_map({
        name: yamlio.flow_map({"members": yamlio.seq(g["members"]), "manager": g["manager"]})
        for name, g in scenario["groups"].items()})
    policy["admins"] = yamlio.seq([scenario["admin"]])
    policy["rules"] = yamlio.seq()

    def change(*_: Any) -> Change:
        result = Change(subject="Demo desk: people and groups", action="policy")
        result.files[POLICY_PATH] = yamlio.dump(policy)
        return result

    desk.commit(change)


def _steps(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    steps = list(scenario.get("steps", []))
    background = scenario.get("background")
    if background:
        steps += _background(background)
    return sorted(steps, key=lambda s: (-int(s["day"]), str(s.get("time", "09:00"))))


def _background(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Deterministic filler: each item opens a ticket and walks part of its life."""
    rng = random.Random(spec.get("seed", 1))
    steps: list[dict[str, Any]] = []
    for n, item in enumerate(spec["tickets"]):
        day = rng.randint(spec.get("min_day", 1), spec.get("max_day", 58))
        hour = rng.randint(8, 16)
        name = f"bg{n}"
        steps.append({"day": day, "time": f"{hour:02d}:{rng.randint(0, 59):02d}",
                      "as": item["as"], "run": item["open"], "save": name})
        for k, follow in enumerate(item.get("then", [])):
            later = max(0, day - follow.get("after_days", 0))
            steps.append({"day": later, "time": f"{min(hour + 1 + k, 23):02d}:{(7 * k) % 60:02d}",
                          "as": follow["as"], "run": follow["run"].replace("$self", f"${name}")})
    return steps
