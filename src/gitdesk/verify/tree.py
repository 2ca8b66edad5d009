"""A commit's desk as the verifier reads it, from git objects: its files, and its config
and policy parsed and validated."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from functools import cached_property
from typing import Any

from gitdesk import gitio
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

    def __init__(self, repo: gitio.Repo, commit: gitio.Commit | None) -> None:
        self.repo = repo
        self.commit = commit
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
            _cached(self.repo, "config", self.blob_oid(CONFIG_PATH), data, config_raw))
        return config

    @cached_property
    def policy(self) -> Policy:
        data = self.read(POLICY_PATH)
        if data is None:
            raise NotFound(f"no {POLICY_PATH} in this desk")
        policy: Policy = build_policy(
            _cached(self.repo, "policy", self.blob_oid(POLICY_PATH), data, policy_raw))
        return policy

    def openpgp_keys(self) -> dict[str, bytes]:
        """The armored OpenPGP public keys of .gitdesk/keys/, by file name."""
        return {name: gitio.blob_data(self.repo, oid)
                for name, oid, is_tree in gitio.list_dir(self.repo, self.tree, KEYS_DIR)
                if not is_tree and name.endswith(".asc")}


def _cached(repo: gitio.Repo, kind: str, oid: str | None, data: bytes,
            parse: Callable[[bytes], dict[str, Any]]) -> dict[str, Any]:
    """Validated config or policy as plain data, cached by blob id (in memory and in
    .git/gitdesk/cache/): content that was valid once stays valid, and parsing the
    YAML in round-trip mode costs more than a whole command should."""
    if oid is None:
        return parse(data)
    if oid in _parse_memo:
        return _parse_memo[oid]
    path = repo.state_dir / "cache" / f"{kind}-{oid}.json"
    try:
        raw: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        raw = parse(data)
        with contextlib.suppress(OSError):
            gitio.atomic_write(path, json.dumps(raw, ensure_ascii=False).encode("utf-8"))
    _parse_memo[oid] = raw
    return raw


_parse_memo: dict[str, dict[str, Any]] = {}


