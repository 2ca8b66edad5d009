"""The demo desk's scenario: its format, read and checked, and placed on a timeline.

The scenario is examples/repo/scenario.yaml (shipped in the wheel as
templates/demo-scenario.yaml). Its format:

```yaml
start: {day: 60, time: "08:00"}   # the desk is initialised then, by `admin`
admin: maria                      # a person id: the policy's admin
people:                           # the policy's people; keys optional, role ignored
  maria: {name: Maria Santos, email: maria.santos@example.org, role: IT service manager,
          signing: true}          # gets an SSH key pair: can approve and reject
groups:                           # the policy's groups; description, escalation optional
  servers: {members: [sam, lena], manager: maria, escalation: [maria, ruth]}
rules:                            # optional: the policy's approval rules
  - name: normal changes go to the CAB
    when: {type: change, change_type: normal}
    require: [{group: cab, count: 1}]
steps:                            # the story, in any order: the runner sorts by time
  - {day: 58, time: "02:14", as: monitor, save: inc1,
     run: 'open incident -s "Web server not rendering pages" --ci web01'}
  - {day: 58, time: "07:40", as: hans, run: 'assign $inc1 sam --group servers'}
  - {day: 31, as: carl, run: 'set $chg window={{day 27 22:00}}/1h'}
background:                       # filler tickets, deterministic for a given seed
  seed: 7
  min_day: 2                      # opening days drawn from [min_day, max_day]
  max_day: 57
  tickets:
    - as: hans
      day: 3                      # optional: fixed instead of drawn (time likewise)
      open: 'open request --request-type password-reset -s "Locked out"'
      then:
        - {after_days: 0, as: hans, run: 'assign $self amira'}
        - {after_days: 2, as: amira, run: 'resolve $self --code fixed -m "Reset"'}
```

- `day` counts days before the demo's end; `time` is "HH:MM" (default 09:00),
  UTC. Every step is run at that moment as that person: the GIT_AUTHOR_* and
  GIT_COMMITTER_* variables carry the name, email and date, so every commit,
  `created` stamp and note is back-dated as an import would do it.
- `run` is a gitdesk command line (shell quoting; no `gitdesk`, no `--repo`).
  `{{day N}}` in it becomes the date N days before the end (2026-11-20) and
  `{{day N HH:MM}}` that moment (2026-11-20T22:00:00Z); N may be negative (the
  future: change windows). Then, after splitting, `$name` anywhere in an
  argument stands for the stdout of an earlier step saved with `save: name`
  (for `open`, the new ID); `$$` is a literal `$`. A name used before it is
  saved is an error.
- Steps run in time order; steps at the same minute run in file order (steps
  first, then background). The whole timeline ends at or before the end
  (`--until`, default now): if a step of the last day lies after it, the
  timeline moves back by whole days.
- Background tickets: `open` runs at the drawn day and time (08:00-16:59) and
  is saved as `$self`; `then` steps run `after_days` after the opening day
  (never after the end), at their own `time` or, on the same day as the
  ticket's previous step, 10-90 minutes after it (else 08:00-17:59). Days are
  drawn for every item, so fixing one item's day moves no other.

The runner (commands, people, signing keys) is gitdesk.cli.demo.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from gitdesk.domain.model import plain
from gitdesk.errors import GitdeskError
from gitdesk.yaml import roundtrip as yamlio

SCENARIO_NAME = "demo-scenario.yaml"
TEMPLATE = "itil"
LATEST_MINUTE = 18 * 60 + 59  # drawn background times stay inside the working day
_VARIABLE = re.compile(r"\$(\$|[A-Za-z_][A-Za-z0-9_]*)")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DATE = re.compile(r"\{\{\s*day\s+(-?\d+)(?:\s+(\S+))?\s*\}\}")


def scenario_text() -> bytes:
    packaged = resources.files("gitdesk").joinpath("templates", SCENARIO_NAME)
    if packaged.is_file():
        return packaged.read_bytes()
    source = Path(__file__).resolve().parents[3] / "examples" / "repo" / "scenario.yaml"
    if source.is_file():
        return source.read_bytes()
    raise GitdeskError("the demo scenario is missing from this installation",
                       hint="reinstall gitdesk (pip install .)")


@dataclass(frozen=True)
class Step:
    """One command of the scenario, placed on the timeline."""

    day: int
    minute: int
    who: str
    run: str
    save: str | None
    where: str  # e.g. "steps[3]" or "background.tickets[2].then[0]", for errors

    def at(self, anchor: datetime) -> datetime:
        return anchor - timedelta(days=self.day) + timedelta(minutes=self.minute)


def load_scenario(text: bytes | None = None) -> dict[str, Any]:
    data = plain(yamlio.load(scenario_text() if text is None else text,
                                    "scenario.yaml"))
    if not isinstance(data, dict):
        raise GitdeskError("scenario.yaml: expected a mapping")
    for key in ("admin", "people", "groups", "start"):
        if key not in data:
            raise GitdeskError(f"scenario.yaml: {key!r} is missing")
    people = data["people"]
    for pid, person in people.items():
        if not isinstance(person, dict) or not person.get("name") or not person.get("email"):
            raise GitdeskError(f"scenario.yaml: people.{pid}: needs name and email")
        if not isinstance(person.get("signing", False), bool):
            raise GitdeskError(f"scenario.yaml: people.{pid}: signing must be true or false")
    if data["admin"] not in people:
        raise GitdeskError(f"scenario.yaml: admin {data['admin']!r} is not one of the people")
    return data


def plan(scenario: dict[str, Any]) -> list[Step]:
    """Every step of the scenario, steps first, then background (stable order)."""
    steps = [read_step(raw, f"steps[{i}]") for i, raw in enumerate(scenario.get("steps") or [])]
    background = scenario.get("background")
    if background:
        steps += _background(background)
    names = [s.save for s in steps if s.save]
    doubles = sorted({n for n in names if names.count(n) > 1})
    if doubles:
        raise GitdeskError(f"scenario.yaml: saved more than once: {', '.join(doubles)}")
    return steps


def read_step(raw: Any, where: str, **defaults: str) -> Step:
    if not isinstance(raw, dict):
        raise GitdeskError(f"scenario.yaml: {where}: expected a mapping")
    values = {**defaults, **raw}
    missing = [k for k in ("day", "as", "run") if k not in values]
    if missing:
        raise GitdeskError(f"scenario.yaml: {where}: {', '.join(missing)} missing")
    return Step(day=int(values["day"]), minute=_minute(values.get("time", "09:00"), where),
                who=str(values["as"]), run=str(values["run"]),
                save=str(values["save"]) if values.get("save") else None, where=where)


def _minute(text: Any, where: str) -> int:
    match = _TIME.match(str(text))
    if not match:
        raise GitdeskError(f"scenario.yaml: {where}: time {text!r} is not HH:MM")
    return int(match[1]) * 60 + int(match[2])


def timeline_anchor(end: datetime, steps: list[Step]) -> datetime:
    """Midnight of the demo's last day: the latest step lies at or before end."""
    anchor = end.replace(hour=0, minute=0)
    latest = max(steps, key=lambda s: (-s.day, s.minute))
    while latest.at(anchor) > end:
        anchor -= timedelta(days=1)
    return anchor


def fill_dates(text: str, anchor: datetime, step: Step) -> str:
    """{{day N}} -> the date N days before the end; {{day N HH:MM}} -> that moment."""
    def value(match: re.Match[str]) -> str:
        moment = anchor - timedelta(days=int(match[1]))
        if match[2] is None:
            return moment.date().isoformat()
        moment += timedelta(minutes=_minute(match[2], step.where))
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    return _DATE.sub(value, text)


def substitute(arg: str, saved: dict[str, str], step: Step) -> str:
    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name == "$":
            return "$"
        if name not in saved:
            raise GitdeskError(f"demo {step.where}: ${name} is not saved by an earlier step",
                               hint=f"saved so far: {', '.join(saved) or 'none'}")
        return saved[name]

    return _VARIABLE.sub(value, arg)


def _background(spec: dict[str, Any]) -> list[Step]:
    """Deterministic filler: each item opens a ticket and walks part of its life."""
    rng = random.Random(spec.get("seed", 1))
    low, high = int(spec.get("min_day", 1)), int(spec.get("max_day", 58))
    steps: list[Step] = []
    for n, item in enumerate(spec.get("tickets") or []):
        where = f"background.tickets[{n}]"
        if not isinstance(item, dict) or "open" not in item or "as" not in item:
            raise GitdeskError(f"scenario.yaml: {where}: needs as and open")
        # Draw for every item, fixed or not, so editing one item moves no other.
        drawn_day, drawn_minute = rng.randint(low, high), rng.randint(8 * 60, 17 * 60 - 1)
        day = int(item.get("day", drawn_day))
        minute = _minute(item["time"], where) if "time" in item else drawn_minute
        name = f"bg{n}"
        steps.append(Step(day, minute, str(item["as"]), str(item["open"]), name, where))
        for k, follow in enumerate(item.get("then") or []):
            here = f"{where}.then[{k}]"
            if not isinstance(follow, dict) or "run" not in follow or "as" not in follow:
                raise GitdeskError(f"scenario.yaml: {here}: needs as and run")
            gap, fresh = rng.randint(10, 90), rng.randint(8 * 60, LATEST_MINUTE - 60)
            later = max(0, day - int(follow.get("after_days", 0)))
            if later > day:
                raise GitdeskError(f"scenario.yaml: {here}: after_days must not be negative")
            if "time" in follow:
                at = _minute(follow["time"], here)
            elif later == day:
                at = max(minute, min(minute + gap, LATEST_MINUTE))
            else:
                at = fresh
            if (later, -at) > (day, -minute):
                raise GitdeskError(f"scenario.yaml: {here}: comes before the step it follows")
            day, minute = later, at
            run = re.sub(r"\$self\b", f"${name}", str(follow["run"]))
            steps.append(Step(day, minute, str(follow["as"]), run, None, here))
    return steps
