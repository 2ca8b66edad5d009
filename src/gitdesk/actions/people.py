"""People and their signing keys: the policy edits a desk needs on day one.

Each is one commit that changes .gitdesk/policy.yaml, so the verifier asks for the
signature of a policy admin (as soon as some admin has a key); gitdesk signs it
with git's signing key when that is the case. A key is taken only in a parsed
form (domain.keys): an SSH public key, or an OpenPGP fingerprint whose armored
key is in .gitdesk/keys/ (or is given with the command, and added there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gitdesk import gitio
from gitdesk.domain.clock import Identity
from gitdesk.domain.config import POLICY_PATH, Policy
from gitdesk.domain.keys import FORMS, PublicKey, admins_with_keys, parse_key
from gitdesk.errors import GitdeskError, NotFound, RuleViolation, UsageError
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, Desk, Written
from gitdesk.verify.signing import KEYS_DIR, SigningKey, openpgp_keys_in
from gitdesk.yaml import roundtrip as yamlio

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")
KEY_HINT = ('give the public key\'s text, e.g. "$(cat ~/.ssh/id_ed25519.pub)", or '
            "openpgp:FINGERPRINT with --asc FILE (the armored key: gpg --armor --export FPR)")
UNPROTECTED_HINT = ("give an admin a key first (gitdesk people key add ID KEY), or pass "
                    "--allow-unprotected if an unprotected desk is what you want")


def read_key(text: str, flag: str) -> PublicKey:
    """A key as a person typed it, or UsageError naming the flag and what is wrong."""
    try:
        return parse_key(text, lenient=True)
    except ValueError as exc:
        shown = repr(text) if len(text) <= 60 else repr(text[:57]) + "..."
        raise UsageError(f"{flag}: {shown} {exc}", hint=f"a key is {FORMS}; {KEY_HINT}") \
            from None


def add_person(desk: Desk, person: str, *, name: str, email: str | None,
               groups: tuple[str, ...] = (), keys: tuple[str, ...] = (),
               asc: tuple[bytes, ...] = ()) -> Written:
    if not _ID.match(person):
        raise UsageError(f"{person!r} is not a valid person id (letters, digits, . _ @ + -)")
    parsed = [read_key(text, "--key") for text in keys]

    def build(snap: Snapshot, now: datetime, author: Identity) -> Change:
        policy = snap.policy
        if person in policy.people:
            raise RuleViolation(f"{person} is already a person of the policy")
        unknown = [g for g in groups if g not in policy.groups]
        if unknown:
            raise UsageError(f"--group: unknown group {unknown[0]!r}",
                             hint=f"groups: {', '.join(policy.groups)}")
        change = Change(subject=f"policy: add {person} ({name})"
                        + (f" to {', '.join(groups)}" if groups else ""), action="policy")
        _new_keys(snap, policy, person, parsed, asc, "--key", change)
        data = yamlio.load(snap.read(POLICY_PATH) or b"", POLICY_PATH)
        entry: dict[str, object] = {"name": name}
        if email:
            entry["email"] = email
        entry["keys"] = yamlio.seq([str(k) for k in _unique(parsed)])
        data["people"][person] = yamlio.flow_map(entry)
        for group in groups:
            data["groups"][group]["members"].append(person)
        change.files[POLICY_PATH] = yamlio.dump(data)
        return change

    return _policy_commit(desk, build)


def add_key(desk: Desk, person: str, text: str, *, asc: bytes | None = None,
            replace: str | None = None) -> Written:
    """Give a person one more key; with `replace`, drop that one in the same commit
    (a rotation, signed with the old key while it is still the trusted one)."""
    key = read_key(text, "KEY")
    old = read_key(replace, "--replace") if replace is not None else None

    def build(snap: Snapshot, now: datetime, author: Identity) -> Change:
        policy = snap.policy
        current = _person_keys(policy, person)
        if old is not None and _index(current, old) is None:
            raise UsageError(f"--replace: {_short(old)} is not a key of {person}",
                             hint=_listing(person, current))
        subject = (f"policy: {person} replaces key {_short(old)} with {_short(key)}"
                   if old is not None else f"policy: add key {_short(key)} for {person}")
        change = Change(subject=subject, action="policy")
        _new_keys(snap, policy, person, [key], (asc,) if asc is not None else (), "KEY",
                  change)
        keys = [t for t in current if old is None or not _same(t, old)] + [str(key)]
        change.files[POLICY_PATH] = _with_keys(snap, person, keys)
        return change

    return _policy_commit(desk, build)


def remove_key(desk: Desk, person: str, text: str, *,
               allow_unprotected: bool = False) -> Written:
    """Take a key from a person; refused if it is the last key of the last admin
    who has one, unless the unprotected desk that leaves is asked for."""
    key = read_key(text, "KEY")

    def build(snap: Snapshot, now: datetime, author: Identity) -> Change:
        policy = snap.policy
        current = _person_keys(policy, person)
        if _index(current, key) is None:
            raise UsageError(f"KEY: {_short(key)} is not a key of {person}",
                             hint=_listing(person, current))
        keys = [t for t in current if not _same(t, key)]
        keyed = admins_with_keys(policy)
        if keyed and not [a for a in keyed if a != person or keys] and not allow_unprotected:
            raise RuleViolation(
                f"removing {_short(key)} leaves no admin with a signing key: anyone who can "
                f"push could then change .gitdesk/ unsigned", hint=UNPROTECTED_HINT)
        change = Change(subject=f"policy: remove key {_short(key)} of {person}",
                        action="policy")
        change.files[POLICY_PATH] = _with_keys(snap, person, keys)
        return change

    return _policy_commit(desk, build)


def _policy_commit(desk: Desk, build: Callable[[Snapshot, datetime, Identity], Change]
                   ) -> Written:
    """One policy commit, signed with git's signing key once admins have keys (the
    verifier then checks it is an admin's, by the policy before the commit)."""
    policy = desk.snapshot().policy
    signer = None
    if admins_with_keys(policy):
        key = SigningKey.from_git(desk.repo, gitio.identity(desk.repo, "COMMITTER").email)
        if key is None:
            raise GitdeskError("changing the policy needs a commit signed by a policy admin",
                               hint="configure git signing (gpg.format, user.signingkey)")
        signer = key.sign
    return desk.commit(build, signer=signer)


def _new_keys(snap: Snapshot, policy: Policy, person: str, keys: list[PublicKey],
              asc: tuple[bytes, ...], flag: str, change: Change) -> None:
    """Refuse a key someone already has; find each OpenPGP key's armored block (the
    desk's .gitdesk/keys/FPR.asc, or one given, which the change adds)."""
    unused = [blob for blob in asc
              if not any(k.fingerprint and _holds(blob, k.fingerprint) for k in keys)]
    if unused:
        raise UsageError("--asc: the file holds none of the OpenPGP keys given "
                         f"({', '.join(str(k) for k in keys if not k.is_ssh) or 'none'})",
                         hint="the fingerprint is the one `gpg --fingerprint` shows for it")
    for key in keys:
        for pid, other in policy.people.items():
            if _index(list(other.keys), key) is not None:
                raise RuleViolation(f"{flag}: {_short(key)} is already a key of {pid}")
        if key.fingerprint is None:
            continue
        path = f"{KEYS_DIR}/{key.fingerprint}.asc"
        given = [blob for blob in asc if _holds(blob, key.fingerprint)]
        if given:
            change.files[path] = given[0]
            continue
        existing = snap.read(path)
        if existing is None:
            raise UsageError(f"{flag}: no {path} for {key}",
                             hint="pass --asc FILE with the armored public key "
                                  f"(gpg --armor --export {key.fingerprint} > FILE)")
        if not _holds(existing, key.fingerprint):
            raise RuleViolation(f"{path} does not hold the key {key.fingerprint}",
                                hint="pass --asc FILE with the right armored public key")


def _holds(armored: bytes, fingerprint: str) -> bool:
    return any(k.fingerprint == fingerprint for k in openpgp_keys_in(armored))


def _person_keys(policy: Policy, person: str) -> list[str]:
    if person not in policy.people:
        raise NotFound(f"{person} is not a person of the policy",
                       hint=f"people: {', '.join(policy.people)}; add one with "
                            "`gitdesk people add`")
    return list(policy.people[person].keys)


def _with_keys(snap: Snapshot, person: str, keys: list[str]) -> bytes:
    data: Any = yamlio.load(snap.read(POLICY_PATH) or b"", POLICY_PATH)
    data["people"][person]["keys"] = yamlio.seq(keys)
    return yamlio.dump(data)


def _same(text: str, key: PublicKey) -> bool:
    try:
        return parse_key(text, lenient=True).ident == key.ident
    except ValueError:
        return text.strip() == str(key)


def _index(texts: list[str], key: PublicKey) -> int | None:
    return next((i for i, t in enumerate(texts) if _same(t, key)), None)


def _unique(keys: list[PublicKey]) -> list[PublicKey]:
    seen: dict[str, PublicKey] = {}
    for key in keys:
        seen.setdefault(key.ident, key)
    return list(seen.values())


def _short(key: PublicKey | None) -> str:
    """A key as a commit subject or message names it: type and the end of its data."""
    if key is None:
        return ""
    return key.ident if not key.is_ssh else f"{key.type} ...{key.data[-12:]}"


def _listing(person: str, keys: list[str]) -> str:
    return (f"keys of {person}: " + "; ".join(keys)) if keys else f"{person} has no keys"
