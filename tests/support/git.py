"""Real git, isolated from the user's: the environment, programs, repository checks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

GIT_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME",
                "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE", "GITDESK_REPO", "GITDESK_BRANCH",
                "GITDESK_DEBUG", "EMAIL", "GNUPGHOME", "SSH_AUTH_SOCK")


def isolate(mp: pytest.MonkeyPatch, base: Path) -> Path:
    """Point HOME, the global and the system git config away from the user's, with a
    test identity; returns the (empty) HOME. Module-scoped fixtures use it too."""
    home = base / "home"
    home.mkdir()
    gitconfig = base / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Test User\n\temail = test@example.org\n"
                         "[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    for key in GIT_ENV_DROP:
        mp.delenv(key, raising=False)
    for key, value in (("HOME", str(home)), ("XDG_CONFIG_HOME", str(home / ".config")),
                       ("GIT_CONFIG_GLOBAL", str(gitconfig)), ("GIT_CONFIG_NOSYSTEM", "1"),
                       ("GIT_TEMPLATE_DIR", ""), ("EDITOR", "false"), ("TZ", "UTC")):
        mp.setenv(key, value)
    return home


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
        input: str | None = None, check: bool = True,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A real program with the test's environment plus `env`; failures show the output."""
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, input=input,
                          capture_output=True, text=True, check=False, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stdout}\n"
                             f"{proc.stderr}")
    return proc


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True,
                          text=True).stdout


def fsck(path: Path) -> None:
    subprocess.run(["git", "-C", str(path), "fsck", "--strict", "--no-progress"], check=True,
                   capture_output=True)


def at(when: str) -> dict[str, str]:
    """Environment that back-dates the commit (and so the ticket's times)."""
    return {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}


def config_env(settings: dict[str, str]) -> dict[str, str]:
    """git configuration given through the environment (GIT_CONFIG_COUNT/KEY/VALUE)."""
    env = {"GIT_CONFIG_COUNT": str(len(settings))}
    for i, (key, value) in enumerate(settings.items()):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env
