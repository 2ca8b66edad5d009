"""The git hook shims and their installation.

A shim only finds gitdesk and execs `gitdesk hook NAME`; the logic stays in
the package. Installing keeps an existing hook as NAME.legacy and runs it
first; a core.hooksPath that points elsewhere is refused, not overridden. The
server hooks are refused for a desk that no admin key protects: there they
would accept anyone's unsigned rewrite of .gitdesk/ (trust on first use).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

from gitdesk import gitio
from gitdesk.domain.config import POLICY_PATH
from gitdesk.domain.keys import admins_with_keys
from gitdesk.errors import GitdeskError
from gitdesk.verify.tree import DeskTree

SERVER_HOOKS = ("pre-receive", "update")
CLIENT_HOOKS = ("pre-commit",)
MARKER = "# installed by gitdesk"


def shim(name: str, gitdesk: str = "gitdesk") -> str:
    """The hook script; pre-receive passes its stdin to the legacy hook too."""
    head = (f"#!/bin/sh\n{MARKER}: checks desk changes with the rules of `gitdesk verify`.\n"
            f"# An earlier {name} hook, if there was one, is kept as {name}.legacy and runs "
            "first.\n"
            f'GITDESK="${{GITDESK:-{gitdesk}}}"\n')
    if name == "pre-receive":
        return head + (
            'if [ -x "$0.legacy" ]; then\n'
            '  input=$(cat)\n'
            '  printf \'%s\\n\' "$input" | "$0.legacy" "$@" || exit $?\n'
            f'  printf \'%s\\n\' "$input" | "$GITDESK" hook {name} "$@"\n'
            '  exit $?\n'
            'fi\n'
            f'exec "$GITDESK" hook {name} "$@"\n')
    return head + (
        'if [ -x "$0.legacy" ]; then\n'
        '  "$0.legacy" "$@" || exit $?\n'
        'fi\n'
        f'exec "$GITDESK" hook {name} "$@"\n')


def hooks_dir(repo: gitio.Repo) -> Path:
    configured = gitio.config(repo).get("core.hookspath")
    default = repo.git_dir / "hooks"
    if configured:
        path = Path(os.path.expanduser(configured))
        if not path.is_absolute():
            path = (repo.workdir or repo.git_dir) / path
        if path.resolve() != default.resolve():
            raise GitdeskError(
                f"core.hooksPath is set to {configured}: cowardly refusing to install "
                "hooks where git would not run them",
                hint="git config --unset-all core.hooksPath, or add `gitdesk hook NAME` "
                     f"to the hooks in {configured} yourself")
    return default


NO_DESK, UNPROTECTED, PROTECTED = "no desk", "unprotected", "protected"


def protection(repo: gitio.Repo, rev: str | None) -> str:
    """Whether the desk at `rev` (the repository's default branch if None) is
    protected: some admin of its policy has a key. NO_DESK if it holds no policy."""
    rev = rev or gitio.head_branch_of_bare(repo)
    try:
        commit = gitio.rev_commit(repo, rev) if rev else None
    except GitdeskError:
        commit = None
    tree = DeskTree(repo, commit)
    if commit is None or tree.read(POLICY_PATH) is None:
        return NO_DESK
    try:
        return PROTECTED if admins_with_keys(tree.policy) else UNPROTECTED
    except GitdeskError:
        return UNPROTECTED


def install(repo: gitio.Repo, *, server: bool, ref: str | None = None,
            allow_unprotected: bool = False) -> list[str]:
    if server and not allow_unprotected and protection(repo, ref) == UNPROTECTED:
        where = ref or gitio.head_branch_of_bare(repo) or "HEAD"
        raise GitdeskError(
            f"refusing to install the server hooks: no admin of the desk's policy on {where} "
            "has a signing key, so the hooks would let anyone who can push change .gitdesk/ "
            "(people, admins, rules) unsigned",
            hint="in a clone, give an admin a key (gitdesk people key add ID KEY), push "
                 "it, then install again; or pass --allow-unprotected to install them anyway")
    directory = hooks_dir(repo)
    directory.mkdir(parents=True, exist_ok=True)
    executable = shutil.which("gitdesk") or "gitdesk"
    done = []
    for name in SERVER_HOOKS if server else CLIENT_HOOKS:
        path = directory / name
        if path.exists() and MARKER not in path.read_text(errors="replace"):
            legacy = directory / f"{name}.legacy"
            if legacy.exists():
                raise GitdeskError(f"{path} and {legacy} both exist",
                                   hint=f"merge them by hand, then remove {legacy}")
            path.rename(legacy)
            done.append(f"{name} (kept the old one as {name}.legacy)")
        else:
            done.append(name)
        gitio.atomic_write(path, shim(name, executable).encode())
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if not server and repo.workdir is not None:
        done.append(f"the merge driver for ticket files ({configure_merge_driver(repo)})")
    return done


DRIVER = "merge.gitdesk.driver"
DRIVER_COMMAND = "merge-file %O %A %B %P"
CHECKED = "merge-driver-checked"  # under .git/gitdesk/: the clone was looked at once


def merge_driver(repo: gitio.Repo) -> str | None:
    """The merge driver git runs for `merge=gitdesk` paths in this clone, if any."""
    return gitio.config(repo).get(DRIVER) or None


def configure_merge_driver(repo: gitio.Repo) -> str:
    """Set git's merge driver for ticket files (.gitattributes names it) in this clone's
    own config; returns the command. The other sides of a merge are files in git's
    temporary folder: the driver writes the merged ticket into OURS."""
    executable = shutil.which("gitdesk") or "gitdesk"
    command = f"{executable} {DRIVER_COMMAND}"
    gitio.run_git(repo, ["config", "merge.gitdesk.name", "gitdesk ticket merge"])
    gitio.run_git(repo, ["config", DRIVER, command])
    (repo.state_dir / CHECKED).unlink(missing_ok=True)
    return command


def missing_driver_once(repo: gitio.Repo) -> bool:
    """Whether to tell the user that this clone merges tickets as text: once per clone
    (a marker under .git/gitdesk/ remembers it was said, or that all was well)."""
    if repo.workdir is None:
        return False
    marker = repo.state_dir / CHECKED
    if marker.exists():
        return False
    missing = merge_driver(repo) is None
    with contextlib.suppress(OSError):
        gitio.atomic_write(marker, b"")
    return missing
