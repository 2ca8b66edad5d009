"""People at the desk (git identities with signing keys) and the desks they staff.

alice inits the desk (admin; cab, ecab) and adds bob (cab), carol (dba) and
dave (service desk only) with their SSH keys, in a policy commit she signs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitdesk.domain.model import ticket_path
from gitdesk.yaml import roundtrip as yamlio
from support.cli import Gitdesk
from support.edits import edit_yaml
from support.git import config_env, run
from support.server import GITDESK, bare_with_hooks
from support.signing import ssh_key

WINDOW = "2030-01-10T22:00Z/2h"


@dataclass(frozen=True)
class Person:
    """Someone at the desk: a git identity and (usually) an SSH signing key."""

    id: str
    key: Path | None = None
    openpgp: str | None = None  # fingerprint in the test's GNUPGHOME

    @property
    def name(self) -> str:
        return self.id.capitalize()

    @property
    def email(self) -> str:
        return f"{self.id}@example.org"

    def settings(self) -> dict[str, str]:
        settings = {"user.name": self.name, "user.email": self.email}
        if self.key is not None:
            settings |= {"gpg.format": "ssh", "user.signingkey": str(self.key)}
        elif self.openpgp is not None:
            settings |= {"gpg.format": "openpgp", "user.signingkey": self.openpgp}
        return settings

    def env(self, overrides: dict[str, str] | None = None) -> dict[str, str]:
        """Environment that makes git (and gitdesk) act as this person."""
        return config_env(self.settings() | (overrides or {}))

    def public_key(self) -> str:
        assert self.key is not None
        kind, body = Path(f"{self.key}.pub").read_text().split()[:2]
        return f"{kind} {body}"

    def allowed_signers(self) -> str:
        return f'{self.id} namespaces="git" {self.public_key()}\n'


def team(directory: Path, *names: str) -> dict[str, Person]:
    """People with fresh SSH keys (alice, bob, carol, dave by default)."""
    names = names or ("alice", "bob", "carol", "dave")
    return {name: Person(name, ssh_key(directory / "keys", name)) for name in names}


class Desk(Gitdesk):
    """A Gitdesk runner that can act as one person or another."""

    def as_(self, who: Person, *args: str, env: dict[str, str] | None = None) -> Any:
        return self(*args, env={**who.env(), **(env or {})})

    def ok_as(self, who: Person, *args: str, env: dict[str, str] | None = None) -> str:
        return str(self.as_(who, *args, env=env).ok().stdout)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def ticket(self, tid: str) -> dict[str, Any]:
        return dict(json.loads(self.ok("show", tid, "--format", "json")))

    def file(self, tid: str) -> Path:
        return self.path / ticket_path("change" if tid.startswith("CHG-") else
                                       {"INC": "incident", "REQ": "request",
                                        "PRB": "problem"}[tid[:3]], tid)


def init_desk(path: Path, admin: Person, env: dict[str, str] | None = None) -> Desk:
    result = Gitdesk(path.parent)("init", str(path), env={**admin.env(), **(env or {})})
    assert result.exit_code == 0, result.stderr
    return Desk(path)


def commit(repo: Path, who: Person, message: str, *, sign: bool,
           env: dict[str, str] | None = None) -> str:
    """`git add -A && git commit` by hand, signed with -S or explicitly unsigned."""
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-q", "-S" if sign else "--no-gpg-sign", "-m", message], cwd=repo,
        env={**who.env(), **(env or {})})
    return run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()


def add_people(team: dict[str, Person], groups: dict[str, list[str]],
               rules: list[dict[str, Any]] | None = None) -> Callable[[Any], None]:
    """A policy edit: people with their public keys, group members, extra rules."""

    def change(policy: Any) -> None:
        for person in team.values():
            if person.id not in policy["people"]:
                keys = [person.public_key()] if person.key is not None else []
                policy["people"][person.id] = yamlio.flow_map(
                    {"name": person.name, "email": person.email, "keys": yamlio.seq(keys)})
        for group, members in groups.items():
            policy["groups"][group]["members"].extend(
                m for m in members if m not in policy["groups"][group]["members"])
        for rule in rules or []:
            policy["rules"].append(rule)

    return change


STAFF = {"cab": ["bob"], "dba": ["carol"], "service-desk": ["dave"]}
TWO_CAB = {"name": "high-risk changes need two CAB members",
           "when": {"type": "change", "risk": "high"},
           "require": [{"group": "cab", "count": 2}]}


def staffed_desk(path: Path, people: dict[str, Person],
                 rules: list[dict[str, Any]] | None = None) -> Desk:
    """alice inits the desk (admin, cab, ecab) and adds bob (cab), carol (dba) and
    dave (service desk only) with their SSH keys, in a commit she signs."""
    desk = init_desk(path, people["alice"])
    edit_yaml(path / ".gitdesk/policy.yaml", add_people(people, STAFF, rules))
    commit(path, people["alice"], "policy: add the team", sign=True)
    return desk


def ready_change(desk: Desk, who: Person, *, summary: str = "Upgrade nginx on web01",
                 ci: str = "web01", cis: str | None = None, risk: str = "medium",
                 change_type: str = "normal") -> str:
    """A change with plans, risk and window, moved to authorize (awaiting approval)."""
    args = ["open", "change", "-s", summary, "--window", WINDOW, "--risk", risk, "--ci", ci,
            "--change-type", change_type]
    if cis:
        args += ["--cis", cis]
    tid = desk.ok_as(who, *args).strip()
    desk.ok_as(who, "set", tid, "implementation_plan=apt-get install nginx=1.26",
               "backout_plan=apt-get install nginx=1.24", "test_plan=curl -fsS http://web01/")
    if change_type == "normal":
        desk.ok_as(who, "transition", tid, "assess")
    desk.ok_as(who, "transition", tid, "authorize")
    assert desk.ticket(tid)["status"] == "authorize"
    return tid


def git_as(who: Person, repo: Path, *args: str, check: bool = True) -> str:
    """Plain git in repo as this person (gitdesk's hooks find gitdesk); its output."""
    proc = run(["git", *args], cwd=repo, env={**who.env(), "GITDESK": GITDESK}, check=check)
    return proc.stdout + proc.stderr


def clone_as(url: str, path: Path, who: Person, *, driver: bool = False) -> Desk:
    """`git clone` as this person; with `driver`, `gitdesk doctor --fix` sets up the
    merge driver in the clone."""
    run(["git", "clone", "-q", url, str(path)], env=who.env())
    desk = Desk(path)
    if driver:
        desk.ok_as(who, "doctor", "--fix")
    return desk


def served_desk(directory: Path, people: dict[str, Person], *, server: str = "srv.git",
                rules: list[dict[str, Any]] | None = None) -> tuple[Desk, Path]:
    """alice's staffed desk (directory/alice) pushed to a bare server with the hooks
    (directory/server, her `origin`); returns her desk and the server."""
    bare = bare_with_hooks(directory / server)
    url = f"file://{bare}"
    desk = staffed_desk(directory / "alice", people, rules)
    git_as(people["alice"], desk.path, "remote", "add", "origin", url)
    git_as(people["alice"], desk.path, "push", "-q", "origin", "main")
    return desk, bare
