"""Check a whole desk: config, policy, every ticket file, links between tickets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitdesk.domain.config import CONFIG_PATH, POLICY_PATH, DeskConfig
from gitdesk.errors import GitdeskError, InvalidFile
from gitdesk.store.read import Snapshot
from gitdesk.verify.files import check_file
from gitdesk.yaml import reader as fastyaml
from gitdesk.yaml import roundtrip as yamlio


@dataclass(frozen=True)
class Finding:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


def examine(snap: Snapshot) -> list[Finding]:
    findings: list[Finding] = []
    config: DeskConfig | None = None
    try:
        config = snap.config
    except InvalidFile as exc:
        findings += [Finding(exc.path, p) for p in exc.problems]
    except GitdeskError as exc:
        findings.append(Finding(CONFIG_PATH, exc.message))
    try:
        snap.policy  # noqa: B018 - loading validates
    except InvalidFile as exc:
        findings += [Finding(exc.path, p) for p in exc.problems]
    except GitdeskError as exc:
        findings.append(Finding(POLICY_PATH, exc.message))
    if config is None:
        findings.append(Finding(CONFIG_PATH, "tickets not checked: the config must load first"))
        return findings
    return findings + _tickets(snap, config)


def _tickets(snap: Snapshot, config: DeskConfig) -> list[Finding]:
    findings: list[Finding] = []
    ids: dict[str, str] = {}
    links: dict[str, set[tuple[str, str]]] = {}
    for path, _oid in snap.ticket_paths():
        raw = snap.read(path) or b""
        data: Any = fastyaml.loads(raw.decode("utf-8", "replace"))  # gitdesk's own layout
        problems = check_file(config, path, data) if data is not None else []
        if problems or data is None:
            try:  # the full parser, which knows lines
                data = yamlio.load(raw, path)
            except InvalidFile as exc:
                findings += [Finding(path, p) for p in exc.problems]
                continue
            if not isinstance(data, dict):
                findings.append(Finding(path, "a ticket file must be a YAML mapping"))
                continue
            problems = check_file(config, path, data)
        findings += [Finding(path, f"{v.message} [{v.rule}]", v.line) for v in problems]
        if problems:
            continue
        tid = str(data["id"])
        if tid in ids:
            findings.append(Finding(path, f"id {tid} is also used by {ids[tid]}"))
        ids[tid] = path
        links[tid] = {(str(x["rel"]), str(x["id"])) for x in data.get("links") or []}
    for tid, own in links.items():
        for rel, other in sorted(own):
            if other not in links:
                findings.append(Finding(ids[tid], f"links: {rel} {other}: no such ticket"))
                continue
            inverse = config.link_types.get(rel)
            if inverse and (inverse, tid) not in links[other]:
                findings.append(Finding(ids[tid], f"links: {rel} {other}: {other} lacks the "
                                                  f"inverse link {inverse} {tid}"))
    return findings
