"""Check a whole desk: config, policy and its keys, every ticket file, links between
tickets; and say whether the desk is protected (some admin has a key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitdesk.domain.config import CONFIG_PATH, POLICY_PATH, DeskConfig, Policy
from gitdesk.domain.keys import admins_with_keys, parse_key
from gitdesk.errors import GitdeskError, InvalidFile
from gitdesk.store.read import Snapshot
from gitdesk.verify.files import check_file
from gitdesk.verify.signing import KEYS_DIR, openpgp_keys_in
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
        findings += _keys(snap, snap.policy)  # loading the policy validates it
    except InvalidFile as exc:
        findings += [Finding(exc.path, p) for p in exc.problems]
    except GitdeskError as exc:
        findings.append(Finding(POLICY_PATH, exc.message))
    if config is None:
        findings.append(Finding(CONFIG_PATH, "tickets not checked: the config must load first"))
        return findings
    return findings + _tickets(snap, config)


def unprotected(snap: Snapshot) -> str | None:
    """Why the desk is unprotected, if it is: no admin has a key, so changes to
    .gitdesk/ are trusted on first use. A state the verifier allows (a warning, not a
    problem of the files)."""
    try:
        policy = snap.policy
    except GitdeskError:
        return None
    if admins_with_keys(policy):
        return None
    admin = policy.admins[0] if policy.admins else "ID"
    return ("the desk is unprotected: no admin has a signing key, so anyone who can push "
            "may change .gitdesk/ without a signature; give an admin a key: "
            f'gitdesk people key add {admin} "$(cat ~/.ssh/id_ed25519.pub)"')


def _keys(snap: Snapshot, policy: Policy) -> list[Finding]:
    """Every key parses, is nobody else's, and an OpenPGP key's armored block is in
    .gitdesk/keys/ and holds that key, neither revoked nor expired."""
    root: Any = None
    findings: list[Finding] = []
    holders: dict[str, list[str]] = {}
    for pid, person in policy.people.items():
        for i, text in enumerate(person.keys):
            if root is None:
                root = yamlio.load(snap.read(POLICY_PATH) or b"", POLICY_PATH)
            where = f"people.{pid}.keys.{i}"
            line = yamlio.locate(root, ("people", pid, "keys", i))
            try:
                key = parse_key(text)
            except ValueError as exc:
                findings.append(Finding(POLICY_PATH, f"{where}: {exc}", line))
                continue
            holders.setdefault(key.ident, []).append(pid)
            if key.fingerprint is not None:
                problem = _openpgp_problem(snap, pid, key.fingerprint)
                if problem:
                    findings.append(Finding(POLICY_PATH, f"{where}: {problem}", line))
    for ident, pids in holders.items():
        if len(set(pids)) > 1:
            findings.append(Finding(POLICY_PATH, f"the key {ident[:40]}... is listed for "
                                                 f"{', '.join(sorted(set(pids)))}: signatures "
                                                 "by it count for nobody"))
    return findings


def _openpgp_problem(snap: Snapshot, pid: str, fingerprint: str) -> str | None:
    path = f"{KEYS_DIR}/{fingerprint}.asc"
    armored = snap.read(path)
    if armored is None:
        return (f"no {path}: signatures by openpgp:{fingerprint} cannot be checked "
                f"(add it: gitdesk people key add {pid} openpgp:{fingerprint} --asc FILE)")
    found = [k for k in openpgp_keys_in(armored) if k.fingerprint == fingerprint]
    if not found:
        return f"{path} does not hold the key {fingerprint}"
    state = "revoked" if found[0].revoked else "expired" if found[0].expired else None
    if state:
        return (f"openpgp:{fingerprint} is {state} (as {path} has it): its signatures are "
                f"not trusted; remove it: gitdesk people key remove {pid} "
                f"openpgp:{fingerprint}")
    return None


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
