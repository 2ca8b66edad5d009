"""Create a desk, or make an existing repository one."""

from __future__ import annotations

import re
from datetime import datetime
from importlib import resources
from pathlib import Path

from gitdesk import gitio
from gitdesk.domain.clock import Identity
from gitdesk.domain.config import CONFIG_PATH, POLICY_PATH
from gitdesk.errors import GitdeskError, UsageError
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, Desk, Written
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
        repo = gitio.init_repo(path, bare=bare, branch=branch or "main")
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

    return desk, desk.commit(build)


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
    return [f"openpgp:{fingerprint}"], {f"{KEYS_DIR}/{fingerprint}.asc": armored}
