"""Create a desk, or make an existing repository one."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path

from gitdesk import gitio
from gitdesk.domain.clock import Identity
from gitdesk.domain.config import CONFIG_PATH, POLICY_PATH
from gitdesk.domain.keys import admins_with_keys, parse_key
from gitdesk.errors import GitdeskError, UsageError
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, Desk, Written
from gitdesk.verify.shims import configure_merge_driver
from gitdesk.verify.signing import KEYS_DIR, SigningKey, export_openpgp, ssh_public_key
from gitdesk.yaml import roundtrip as yamlio

TEMPLATES = ("itil", "minimal")
GITATTRIBUTES = "tickets/** merge=gitdesk\n"


def template_file(template: str, name: str) -> bytes:
    return resources.files("gitdesk").joinpath("templates", template, name).read_bytes()


def person_id(ident: Identity) -> str:
    local = ident.email.partition("@")[0] or ident.name
    slug = re.sub(r"[^A-Za-z0-9_.+-]+", "-", local).strip("-.").lower()
    return slug or "admin"


def policy_for(template: str, ident: Identity, keys: list[str]) -> bytes:
    """The template's policy with the person running init as its first admin."""
    data = yamlio.load(template_file(template, "policy.yaml"), POLICY_PATH)
    pid = person_id(ident)
    data["people"] = yamlio.block_map(
        {pid: yamlio.flow_map({"name": ident.name, "email": ident.email,
                               "keys": yamlio.seq(keys)})})
    for group in data["groups"].values():
        group["members"] = yamlio.seq([pid]) if group["members"] else yamlio.seq()
        if "manager" in group:
            group["manager"] = pid
    data["admins"] = yamlio.seq([pid])
    return yamlio.dump(data)


def init_desk(path: Path, *, template: str = "itil", bare: bool = False,
              branch: str | None = None) -> tuple[Desk, Written]:
    if template not in TEMPLATES:
        raise UsageError(f"--template: unknown template {template!r}",
                         hint=f"templates: {', '.join(TEMPLATES)}")
    try:
        repo = gitio.open_repo(path) if path.exists() and _is_repo(path) else None
    except GitdeskError:
        repo = None
    if repo is None:
        require_identity(path if bare else path / ".git")
        with _undone_on_failure(path):
            repo = gitio.init_repo(path, bare=bare, branch=branch or "main")
            return _init(repo, path, template, branch)
    gitio.identities(repo)
    return _init(repo, path, template, branch)


def _init(repo: gitio.Repo, path: Path, template: str,
          branch: str | None) -> tuple[Desk, Written]:
    desk = Desk(repo, gitio.resolve_ref(repo, branch))
    snap = desk.snapshot()
    if snap.read(CONFIG_PATH) is not None:
        raise GitdeskError(f"{path} is already a desk ({CONFIG_PATH} exists on {desk.branch})")

    def build(snap: Snapshot, now: datetime, author: Identity) -> Change:
        change = Change(subject=f"Initialise desk ({template} template)", action="init")
        change.files[CONFIG_PATH] = template_file(template, "config.yaml")
        keys, key_files = signing_keys(desk.repo, author.email)
        change.files[POLICY_PATH] = policy_for(template, author, keys)
        change.files.update(key_files)
        attributes = snap.read(".gitattributes") or b""
        if GITATTRIBUTES.strip().encode() not in attributes:
            change.files[".gitattributes"] = attributes + GITATTRIBUTES.encode()
        return change

    written = desk.commit(build)
    if repo.workdir is not None:
        configure_merge_driver(repo)
    return desk, written


def require_identity(git_dir: Path) -> None:
    """Fail, before anything is created, when git does not know who commits: the
    first commit would fail and leave an empty repository behind."""
    for role in ("AUTHOR", "COMMITTER"):
        found = gitio.run_git(None, ["var", f"GIT_{role}_IDENT"],
                              env={"GIT_DIR": os.fspath(git_dir.absolute())}, check=False)
        if not found.strip():
            raise GitdeskError(
                f"git does not know who you are ({role.lower()} identity unknown); "
                "nothing was created",
                hint="set user.email and user.name: git config --global user.email "
                     'you@example.org && git config --global user.name "Your Name"')


@contextlib.contextmanager
def _undone_on_failure(path: Path) -> Iterator[None]:
    """Remove what a failed init created: the directory if it did not exist, else the
    entries that were not there before."""
    existed = path.exists()
    before = set(os.listdir(path)) if existed else set()
    try:
        yield
    except BaseException:
        if not existed:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_dir():
            for name in set(os.listdir(path)) - before:
                target = path / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target, ignore_errors=True)
                else:
                    target.unlink(missing_ok=True)
        raise


def unprotected_warning(desk: Desk, path: Path) -> str | None:
    """What `init` says when no admin has a key: until one has, changes to .gitdesk/
    are trusted on first use."""
    policy = desk.snapshot().policy
    if admins_with_keys(policy):
        return None
    admin = policy.admins[0] if policy.admins else "ID"
    where = "" if path == Path(".") else f" (in {path})"
    return (f"warning: this desk is unprotected until an admin has a signing key: anyone "
            f"who can push to it may change .gitdesk/ (people, groups, admins, rules) "
            f"without a signature, and lock you out.\n"
            f"Give the admin {admin} a key{where}, then sign with it:\n"
            f'  gitdesk people key add {admin} "$(cat ~/.ssh/id_ed25519.pub)"\n'
            f"  git config gpg.format ssh && git config user.signingkey ~/.ssh/id_ed25519\n"
            f"(an OpenPGP key: gitdesk people key add {admin} openpgp:FINGERPRINT --asc "
            f"KEY.asc)")


def _is_repo(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def signing_keys(repo: gitio.Repo, email: str) -> tuple[list[str], dict[str, bytes | None]]:
    """The public half of git's signing key, so the first admin can sign from day one."""
    key = SigningKey.from_git(repo, email)
    if key is None or not gitio.config(repo).get("user.signingkey"):
        return [], {}
    if key.format == "ssh":
        public = ssh_public_key(key.key)
        return ([public], {}) if public else ([], {})
    exported = export_openpgp(key.key)
    if exported is None:
        return [], {}
    fingerprint, armored = exported
    try:
        listed = str(parse_key(f"openpgp:{fingerprint}"))
    except ValueError:
        return [], {}
    return [listed], {f"{KEYS_DIR}/{fingerprint}.asc": armored}
