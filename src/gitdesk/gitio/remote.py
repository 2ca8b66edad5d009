"""Other repositories: fetch and push through the git binary (so ssh config and
credential helpers work as for any git command), and who last changed a path."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitdesk.errors import GitdeskError
from gitdesk.gitio.process import run_git

if TYPE_CHECKING:
    from gitdesk.gitio.repo import Repo

# What git says when it cannot reach the other side at all.
_UNREACHABLE = ("could not resolve host", "could not read from remote repository",
                "connection refused", "connection timed out", "network is unreachable",
                "no route to host", "does not appear to be a git repository",
                "unable to access", "operation timed out", "name or service not known",
                "temporary failure in name resolution", "connection reset")


# What git says when the remote's branch moved since we fetched (another push won).
_BEHIND = ("non-fast-forward", "fetch first", "[rejected]", "cannot lock ref",
           "but expected", "failed to update ref", "stale info")


class Unreachable(GitdeskError):
    """The remote could not be reached (offline, wrong URL, no credentials)."""

    exit_code = 3


@dataclass(frozen=True)
class Pushed:
    ok: bool
    behind: bool = False   # rejected because the remote moved on (fetch, merge, retry)
    message: str = ""      # what the remote said when it refused


def _git(repo: Repo, args: list[str]) -> subprocess.CompletedProcess[bytes]:
    """git for the network: never waiting on a terminal for a password."""
    cmd = ["git", "--git-dir", os.fspath(repo.git_dir)]
    if repo.workdir is not None:
        cmd += ["--work-tree", os.fspath(repo.workdir)]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        return subprocess.run([*cmd, *args], capture_output=True, env=env, check=False,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise GitdeskError("the git binary was not found on PATH",
                           hint="install git (apt-get install git)") from exc


def _unreachable(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in _UNREACHABLE)


def fetch(repo: Repo, remote: str, branch: str) -> str | None:
    """Fetch the remote's branch into refs/remotes/REMOTE/BRANCH; its tip, or None
    when the remote has no such branch. Unreachable when git cannot get there."""
    proc = _git(repo, ["fetch", "--quiet", "--no-tags", remote,
                       f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"])
    said = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        if "couldn't find remote ref" in said.lower():
            return None
        if _unreachable(said) or "does not appear to be" in said:
            raise Unreachable(f"could not reach {remote}: {_last(said)}",
                              hint="nothing was changed; sync again when the remote is "
                                   "reachable")
        raise GitdeskError(f"git fetch {remote}: {_last(said)}")
    out = run_git(repo, ["rev-parse", "--verify", "-q",
                         f"refs/remotes/{remote}/{branch}^{{commit}}"], check=False)
    return out.decode().strip() or None


def push(repo: Repo, remote: str, commit: str, branch: str) -> Pushed:
    """Push commit to the remote's branch (fast-forward only)."""
    proc = _git(repo, ["push", "--quiet", "--porcelain", remote,
                       f"{commit}:refs/heads/{branch}"])
    said = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    if proc.returncode == 0:
        return Pushed(True)
    lowered = said.lower()
    if "hook declined" not in lowered and any(marker in lowered for marker in _BEHIND):
        return Pushed(False, behind=True, message=_last(said))
    if _unreachable(said):
        raise Unreachable(f"could not reach {remote}: {_last(said)}",
                          hint="the merge is committed here; sync again to push it")
    lines = [line.removeprefix("remote:").strip() for line in said.splitlines()
             if line.startswith("remote:")]
    return Pushed(False, message="\n".join(lines) or _last(said))


Stamp = tuple[int, str, str]  # (author time, author, commit) of a side's last change
UNKNOWN: Stamp = (0, "", "")  # where git cannot say


def last_changes(repo: Repo | None, base: str | None, tip: str,
                 paths: list[str]) -> dict[str, Stamp]:
    """For each path, the newest commit in base..tip that changed it. One walk for all
    paths (paths are given to git in chunks, to stay within the command line)."""
    rev = f"{base}..{tip}" if base else tip
    found: dict[str, Stamp] = {}
    for start in range(0, len(paths), 500):
        chunk = paths[start:start + 500]
        out = run_git(repo, ["log", "--no-renames", "--format=%x01%at%x00%an%x00%H",
                             "--name-only", "-z", rev, "--", *chunk])
        for record in out.decode("utf-8", "replace").split("\x01")[1:]:
            fields = record.split("\x00")
            when, author, commit = [*fields, "0", "", ""][:3]
            commit, _, first = commit.partition("\n")
            for name in [first, *fields[3:]]:
                name = name.strip("\n")
                if name and name not in found:
                    found[name] = (int(when or 0), author, commit)
    return found


def sides_of(theirs_refs: tuple[str, ...], path: str) -> tuple[Stamp, Stamp]:
    """During a merge, rebase or cherry-pick in the current directory: the last change
    of path on our side (HEAD) and on theirs (the first of theirs_refs that exists),
    since their merge base; unknown (0, "", "") where git cannot say."""
    ours = run_git(None, ["rev-parse", "-q", "--verify", "HEAD^{commit}"],
                   check=False).decode().strip()
    theirs = ""
    for ref in theirs_refs:
        theirs = run_git(None, ["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"],
                         check=False).decode().strip()
        if theirs and theirs != ours:
            break
        theirs = ""
    if not ours or not theirs:
        return UNKNOWN, UNKNOWN
    base = run_git(None, ["merge-base", ours, theirs], check=False).decode().strip() or None
    return (last_changes(None, base, ours, [path]).get(path, UNKNOWN),
            last_changes(None, base, theirs, [path]).get(path, UNKNOWN))


def _last(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
