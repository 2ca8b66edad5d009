"""A commit's desk as the verifier reads it, from git objects: its files, and its config
and policy parsed and validated."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from functools import cached_property
from typing import Any

from gitdesk import gitio
from gitdesk.domain import schema
from gitdesk.domain.config import (
    CONFIG_PATH,
    POLICY_PATH,
    DeskConfig,
    Policy,
    build_config,
    build_policy,
)
from gitdesk.errors import NotFound
from gitdesk.verify.configs import config_raw, policy_raw
from gitdesk.verify.signing import KEYS_DIR


class DeskTree:
    """The desk as it is in one commit (or empty, before the first one)."""

    def __init__(self, repo: gitio.Repo, commit: gitio.Commit | None, *,
                 cached: bool = False) -> None:
        self.repo = repo
        self.commit = commit
        self.cached = cached
        self.loaded: dict[str, Any] = {}  # ticket files parsed, by path (verify.changes)
        self.tree: gitio.Tree | None = commit.tree if commit is not None else None

    @property
    def oid(self) -> str | None:
        return str(self.commit.id) if self.commit is not None else None

    def read(self, path: str) -> bytes | None:
        return gitio.read_blob(self.repo, self.tree, path)

    def blob_oid(self, path: str) -> str | None:
        obj = gitio.entry(self.repo, self.tree, path)
        return str(obj.id) if obj is not None else None

    @cached_property
    def config(self) -> DeskConfig:
        data = self.read(CONFIG_PATH)
        if data is None:
            raise NotFound(f"no {CONFIG_PATH} here: this is not a gitdesk desk",
                           hint="run `gitdesk init` first, or pass --repo/--branch")
        config: DeskConfig = build_config(
            _parsed(self.repo, "config", self.blob_oid(CONFIG_PATH), data, config_raw,
                    cached=self.cached))
        return config

    @cached_property
    def policy(self) -> Policy:
        data = self.read(POLICY_PATH)
        if data is None:
            raise NotFound(f"no {POLICY_PATH} in this desk")
        policy: Policy = build_policy(
            _parsed(self.repo, "policy", self.blob_oid(POLICY_PATH), data, policy_raw,
                    cached=self.cached))
        return policy

    def openpgp_keys(self) -> dict[str, bytes]:
        """The armored OpenPGP public keys of .gitdesk/keys/, by file name."""
        return {name: gitio.blob_data(self.repo, oid)
                for name, oid, is_tree in gitio.list_dir(self.repo, self.tree, KEYS_DIR)
                if not is_tree and name.endswith(".asc")}


def _parsed(repo: gitio.Repo, kind: str, oid: str | None, data: bytes,
            parse: Callable[[bytes], dict[str, Any]], *, cached: bool) -> dict[str, Any]:
    """Validated config or policy as plain data, parsed once per blob and process.

    With `cached`, also read from and written to .git/gitdesk/cache/ (parsing the
    YAML in round-trip mode costs more than a whole command should). Anyone who can
    write that directory (a CI runner's restored cache, say) chooses what it says,
    so only the clone's own commands use it; hooks and `gitdesk verify` parse the
    blob, and what they parsed is kept apart from what a cache said."""
    if oid is None:
        return parse(data)
    if oid in _verified:
        return _verified[oid]
    if not cached:
        _verified[oid] = parse(data)
        return _verified[oid]
    if oid in _from_cache:
        return _from_cache[oid]
    path = repo.state_dir / "cache" / schema.cache_name(kind, oid)
    try:
        raw: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        raw = parse(data)
        _verified[oid] = raw
        with contextlib.suppress(OSError):
            gitio.atomic_write(path, json.dumps(raw, ensure_ascii=False).encode("utf-8"))
        return raw
    _from_cache[oid] = raw
    return raw


_verified: dict[str, dict[str, Any]] = {}  # parsed from the blob in this process
_from_cache: dict[str, dict[str, Any]] = {}  # as the clone's cache had it
