"""The desk's own files, .gitdesk/config.yaml and .gitdesk/policy.yaml: parsed, checked
against their JSON Schema, then for consistency; problems name the file, line and key."""

from __future__ import annotations

from typing import Any

from gitdesk.domain import schema
from gitdesk.domain.config import (
    CONFIG_PATH,
    POLICY_PATH,
    DeskConfig,
    Policy,
    Problem,
    build_config,
    build_policy,
    config_problems,
    policy_problems,
)
from gitdesk.domain.model import plain
from gitdesk.errors import InvalidFile
from gitdesk.yaml import roundtrip as yamlio
from gitdesk.yaml.roundtrip import locate


def parse_config(data: bytes, path: str = CONFIG_PATH) -> DeskConfig:
    return build_config(config_raw(data, path))


def config_raw(data: bytes, path: str = CONFIG_PATH) -> dict[str, Any]:
    """The config as plain data, after schema and consistency checks."""
    return _checked(data, path, "config", config_problems)


def parse_policy(data: bytes, path: str = POLICY_PATH) -> Policy:
    return build_policy(policy_raw(data, path))


def policy_raw(data: bytes, path: str = POLICY_PATH) -> dict[str, Any]:
    """The policy as plain data, after schema and consistency checks."""
    return _checked(data, path, "policy", policy_problems)


def _checked(data: bytes, path: str, schema_name: str,
             consistency: Any) -> dict[str, Any]:
    root = yamlio.load(data, path)
    errors: list[Problem] = [(e.path, e.message) for e in schema.validate(schema_name, root)]
    if errors:
        raise InvalidFile(path, _problems(root, errors))
    raw: dict[str, Any] = plain(root)
    errors = consistency(raw)
    if errors:
        raise InvalidFile(path, _problems(root, errors))
    return raw


def _problems(root: Any, errors: list[Problem]) -> list[str]:
    out = []
    for key_path, message in errors:
        line = locate(root, key_path)
        where = f"line {line}: " if line else ""
        dotted = ".".join(str(k) for k in key_path) or "(top level)"
        out.append(f"{where}{dotted}: {message}")
    return out
