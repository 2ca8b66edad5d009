"""The demo desk: the scenario (gitdesk.cli.scenario, which also describes its
format) replayed as gitdesk commands with back-dated dates.

- The first commit writes the itil template's config with the scenario's
  policy (people, groups, admin, rules): trust in the policy starts there.
- `signing: true` gives a person an ed25519 SSH key pair, made with
  ssh-keygen in PATH/.git/gitdesk/demo-keys/ID (never in HOME); its public
  key goes into the person's `keys` in that first commit. Each of that
  person's steps runs with git signing configured through the environment
  only (GIT_CONFIG_COUNT/KEY/VALUE: gpg.format=ssh, user.signingkey=the key),
  so `approve` and `reject` sign their commits as `git commit -S` would, and
  no git config file is written.
- The first failing step stops the build with the command's own error (the
  desk built so far is left in place to look at). What a successful step
  writes on stderr (hints, messages) is not shown.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from gitdesk import gitio
from gitdesk.actions.init import GITATTRIBUTES, template_file
from gitdesk.cli.root import cli
from gitdesk.cli.scenario import (
    TEMPLATE,
    fill_dates,
    load_scenario,
    plan,
    read_step,
    substitute,
    timeline_anchor,
)
from gitdesk.domain.config import CONFIG_PATH, POLICY_PATH
from gitdesk.errors import GitdeskError, UsageError
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, Desk
from gitdesk.verify.signing import generate_ssh_key
from gitdesk.yaml import roundtrip as yamlio


@contextlib.contextmanager
def _as(person: dict[str, str], when: datetime, key: Path | None = None) -> Iterator[None]:
    """The environment of one step: who (author and committer), when, and, for a
    person with a demo key, git's signing settings (environment only)."""
    stamp = f"{int(when.timestamp())} +0000"
    env = {"GIT_AUTHOR_NAME": person["name"], "GIT_AUTHOR_EMAIL": person["email"],
           "GIT_COMMITTER_NAME": person["name"], "GIT_COMMITTER_EMAIL": person["email"],
           "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    if key is not None:
        env.update(_signing_env(key))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _signing_env(key: Path) -> dict[str, str]:
    """GIT_CONFIG_COUNT/KEY_n/VALUE_n for SSH signing with key, after any the caller set."""
    try:
        base = max(0, int(os.environ.get("GIT_CONFIG_COUNT") or 0))
    except ValueError:
        base = 0
    settings = [("gpg.format", "ssh"), ("user.signingkey", str(key))]
    env = {"GIT_CONFIG_COUNT": str(base + len(settings))}
    for n, (name, value) in enumerate(settings, start=base):
        env[f"GIT_CONFIG_KEY_{n}"] = name
        env[f"GIT_CONFIG_VALUE_{n}"] = value
    return env


def run_command(repo: Path, args: list[str]) -> str:
    """Run one gitdesk command in-process; returns its stdout.

    A failure raises GitdeskError carrying what the command wrote to stderr;
    on success, stderr (messages, hints) is dropped.
    """
    out, err = io.StringIO(), io.StringIO()
    failure: str | None = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            # Not standalone: click returns the exit code of ctx.exit(N) instead
            # of raising, and raises usage errors instead of printing them.
            code = cli.main(args=["--repo", str(repo), *args], prog_name="gitdesk",
                            standalone_mode=False)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.ClickException as exc:
            code, failure = exc.exit_code, exc.format_message()
        except click.exceptions.Abort:
            code, failure = 1, "aborted"
    if (isinstance(code, int) and code != 0) or failure is not None:
        said = err.getvalue().strip() or failure or f"exit {code}"
        raise GitdeskError(f"gitdesk {shlex.join(args)}:\n{said}")
    return out.getvalue()  # a step's messages and hints on stderr are not shown


def build(path: Path, *, until: datetime | None = None,
          scenario: dict[str, Any] | None = None) -> Desk:
    """Build the demo desk at path (a new or empty directory); returns it."""
    scenario = load_scenario() if scenario is None else scenario
    end = (until or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    people: dict[str, dict[str, str]] = scenario["people"]
    steps = plan(scenario)
    for step in steps:
        if step.who not in people:
            raise GitdeskError(f"scenario.yaml: {step.where}: as: {step.who!r} is not one "
                               "of the people")
    start = read_step(scenario["start"], "start", **{"as": scenario["admin"], "run": ""})
    anchor = timeline_anchor(end, [start, *steps])
    early = [s for s in steps if s.at(anchor) < start.at(anchor)]
    if early:
        raise GitdeskError(f"scenario.yaml: {early[0].where} comes before start")
    if path.exists() and any(path.iterdir()):
        raise UsageError(f"{path} exists and is not empty", hint="give a new directory")
    repo = gitio.init_repo(path, branch="main")
    keys = _make_keys(repo, people)
    with _as(people[scenario["admin"]], start.at(anchor)):
        desk = _init(repo, scenario, keys)
    saved: dict[str, str] = {}
    for step in sorted(steps, key=lambda s: s.at(anchor)):
        text = fill_dates(step.run, anchor, step)
        args = [substitute(arg, saved, step) for arg in shlex.split(text)]
        signing_key = keys[step.who][0] if step.who in keys else None
        with _as(people[step.who], step.at(anchor), signing_key):
            try:
                output = run_command(path, args)
            except GitdeskError as exc:
                raise GitdeskError(f"demo {step.where} (day {step.day}, as {step.who}) "
                                   f"failed: {exc}") from exc
        if step.save:
            saved[step.save] = output.strip()
    return desk


def _make_keys(repo: gitio.Repo, people: dict[str, Any]) -> dict[str, tuple[Path, str]]:
    """An SSH key pair for each person with `signing: true`: {id: (private key, public)}.

    The keys live in the repository's .git/gitdesk/demo-keys/, never in HOME.
    """
    folder = repo.state_dir / "demo-keys"
    keys: dict[str, tuple[Path, str]] = {}
    for pid, person in people.items():
        if not person.get("signing"):
            continue
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        private = folder / pid
        public = generate_ssh_key(private, f"{person['email']} (gitdesk demo)", pid)
        keys[pid] = (private, public)
    return keys


def _init(repo: gitio.Repo, scenario: dict[str, Any],
          keys: dict[str, tuple[Path, str]]) -> Desk:
    """One first commit: the template's config with the scenario's policy.

    Trust in .gitdesk/policy.yaml starts at its first commit, so the people,
    groups, rules and the approvers' public keys are written there rather than
    by a later commit (which an admin would have to sign).
    """
    desk = Desk(repo, gitio.resolve_ref(repo, None))
    public = {pid: key for pid, (_private, key) in keys.items()}

    def change(snap: Snapshot, *_: Any) -> Change:
        result = Change(subject=f"Initialise desk ({TEMPLATE} template) with the demo's "
                                "people and groups", action="init")
        result.files[CONFIG_PATH] = template_file(TEMPLATE, "config.yaml")
        result.files[POLICY_PATH] = yamlio.dump(_policy(scenario, public))
        result.files[".gitattributes"] = GITATTRIBUTES.encode()
        return result

    desk.commit(change)
    return desk


def _policy(scenario: dict[str, Any], public: dict[str, str]) -> Any:
    policy = yamlio.block_map({"version": 1})
    policy["people"] = yamlio.block_map({
        pid: yamlio.flow_map({"name": p["name"], "email": p["email"], "keys": yamlio.seq(
            [*(p.get("keys") or []), *([public[pid]] if pid in public else [])])})
        for pid, p in scenario["people"].items()})
    groups = {}
    for name, group in scenario["groups"].items():
        entry: dict[str, Any] = {}
        if group.get("description"):
            entry["description"] = group["description"]
        entry["members"] = yamlio.seq(group.get("members") or [])
        if group.get("manager"):
            entry["manager"] = group["manager"]
        if group.get("escalation"):
            entry["escalation"] = yamlio.seq(group["escalation"])
        groups[name] = yamlio.flow_map(entry)
    policy["groups"] = yamlio.block_map(groups)
    policy["admins"] = yamlio.seq([scenario["admin"]])
    policy["rules"] = yamlio.seq([_rule(rule) for rule in scenario.get("rules") or []])
    return policy


def _rule(rule: Any) -> Any:
    """A rule laid out as in the template: `when` and `require` on one line each."""
    if not isinstance(rule, dict):
        return rule
    out = yamlio.block_map()
    for key, value in rule.items():
        if key == "when" and isinstance(value, dict):
            out[key] = yamlio.flow_map(value)
        elif key == "require" and isinstance(value, list):
            levels = yamlio.seq([yamlio.flow_map(v) if isinstance(v, dict) else v
                                 for v in value])
            levels.fa.set_flow_style()
            out[key] = levels
        else:
            out[key] = value
    return out
