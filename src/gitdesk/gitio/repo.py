"""The repository handle: opening and creating repositories, git's configuration
and identities, and which branch holds the desk."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from gitdesk.domain.clock import Identity
from gitdesk.errors import GitdeskError, NotFound
from gitdesk.gitio.process import run_git


@dataclass
class Repo:
    """An opened repository: pygit2 handle plus the paths gitdesk needs."""

    git: pygit2.Repository
    git_dir: Path
    workdir: Path | None
    _config: dict[str, str] | None = field(default=None, repr=False)
    _identities: dict[str, Identity] | None = field(default=None, repr=False)

    @property
    def is_bare(self) -> bool:
        return self.workdir is None

    @property
    def state_dir(self) -> Path:
        """Where gitdesk keeps derived, disposable state (index, outbox)."""
        return self.git_dir / "gitdesk"


# libgit2 caches trees up to 4 KiB; a shard-listing tree of a large desk is ~30 KiB, and
# every path lookup below it would read it again (344 us against 38 us at 100,000 tickets).
pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.TREE, 1 << 20)


def open_repo(path: str | os.PathLike[str] | None) -> Repo:
    start = os.fspath(path) if path is not None else os.getcwd()
    try:
        found = pygit2.discover_repository(start)
    except pygit2.GitError:
        found = None
    if found is None:
        raise NotFound(
            f"not a git repository: {start}",
            hint="run `gitdesk init` to create a desk, or pass --repo PATH",
        )
    repo = pygit2.Repository(found)
    # In a pre-receive hook the pushed objects sit in a quarantine directory
    # that git names in the environment; libgit2 does not read it by itself.
    extra = [os.environ.get("GIT_OBJECT_DIRECTORY", ""), os.environ.get("GIT_QUARANTINE_PATH", "")]
    extra += os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "").split(os.pathsep)
    for directory in filter(None, extra):
        if os.path.isdir(directory):
            repo.odb.add_disk_alternate(directory)
    workdir = Path(repo.workdir) if repo.workdir else None
    return Repo(git=repo, git_dir=Path(repo.path), workdir=workdir)


def init_repo(path: Path, *, bare: bool = False, branch: str = "main") -> Repo:
    run_git(None, ["init", "-q", f"--initial-branch={branch}", *(["--bare"] if bare else []),
                   os.fspath(path)])
    return open_repo(path)


def config(repo: Repo) -> dict[str, str]:
    """git's effective configuration (system, global, local, env), read once."""
    if repo._config is None:
        out = run_git(repo, ["config", "-z", "--list"], check=False)
        values: dict[str, str] = {}
        for item in out.decode("utf-8", "replace").split("\0"):
            if item:
                key, _, value = item.partition("\n")
                values[key.lower()] = value
        repo._config = values
    return repo._config


def identity(repo: Repo, role: str = "AUTHOR") -> Identity:
    """Author or committer exactly as git would make it (config, GIT_* variables)."""
    return identities(repo)[role]


def identities(repo: Repo) -> dict[str, Identity]:
    """Author and committer, asked of `git var` one by one as git's own commit does
    (strictly: an unknown identity is an error, not user@hostname); read once per
    repository handle."""
    if repo._identities is None:
        found = {}
        for role in ("AUTHOR", "COMMITTER"):
            cmd = ["git", "--git-dir", os.fspath(repo.git_dir), "var", f"GIT_{role}_IDENT"]
            proc = subprocess.run(cmd, capture_output=True, check=False)
            if proc.returncode != 0:
                raise GitdeskError(
                    f"git does not know who you are ({role.lower()} identity unknown)",
                    hint='run: git config user.name "Your Name" && '
                         'git config user.email you@example.org')
            found[role] = parse_ident(proc.stdout.decode("utf-8", "replace").strip())
        repo._identities = found
    return repo._identities


def parse_ident(line: str) -> Identity:
    name, _, rest = line.partition(" <")
    email, _, when = rest.partition("> ")
    stamp, _, tz = when.partition(" ")
    sign = -1 if tz.startswith("-") else 1
    digits = tz.lstrip("+-") or "0000"
    offset = sign * (int(digits[:-2] or 0) * 60 + int(digits[-2:]))
    return Identity(name=name, email=email, time=int(stamp), offset=offset)


def resolve_ref(repo: Repo, branch: str | None) -> str:
    """The full ref name of the desk's branch (HEAD's branch unless given)."""
    if branch:
        return branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    head = repo.git.references.get("HEAD")
    if head is not None and head.type == pygit2.enums.ReferenceType.SYMBOLIC:
        return str(head.target)
    raise GitdeskError("HEAD is detached; cannot tell which branch holds the desk",
                       hint="pass --branch NAME")


def head_branch(repo: Repo) -> str | None:
    """The branch checked out in the working tree, if any."""
    if repo.is_bare:
        return None
    head = repo.git.references.get("HEAD")
    if head is None or head.type != pygit2.enums.ReferenceType.SYMBOLIC:
        return None
    return str(head.target)


def head_branch_of_bare(repo: Repo) -> str | None:
    """The branch HEAD names, bare or not (a server's default branch)."""
    head = repo.git.references.get("HEAD")
    if head is None or head.type != pygit2.enums.ReferenceType.SYMBOLIC:
        return None
    return str(head.target)


def config_values(repo: Repo, key: str) -> list[str]:
    """Every value of a multi-valued git config key, in the order git gives them."""
    out = run_git(repo, ["config", "-z", "--get-all", key], check=False)
    return [v for v in out.decode("utf-8", "replace").split("\0") if v]
