"""Adding people to the policy: the one policy edit a desk needs on day one.

The commit changes .gitdesk/policy.yaml, so the verifier asks for the signature
of a policy admin (as soon as some admin has a key); gitdesk signs it with git's
signing key when that is the case.
"""

from __future__ import annotations

import re
from datetime import datetime

from gitdesk import gitio
from gitdesk.domain.clock import Identity
from gitdesk.domain.config import POLICY_PATH
from gitdesk.errors import GitdeskError, RuleViolation, UsageError
from gitdesk.store.read import Snapshot
from gitdesk.store.write import Change, Desk, Written
from gitdesk.verify.signing import SigningKey
from gitdesk.yaml import roundtrip as yamlio

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")


def add_person(desk: Desk, person: str, *, name: str, email: str | None,
               groups: tuple[str, ...] = (), keys: tuple[str, ...] = ()) -> Written:
    if not _ID.match(person):
        raise UsageError(f"{person!r} is not a valid person id (letters, digits, . _ @ + -)")

    def build(snap: Snapshot, now: datetime, author: Identity) -> Change:
        policy = snap.policy
        if person in policy.people:
            raise RuleViolation(f"{person} is already a person of the policy")
        unknown = [g for g in groups if g not in policy.groups]
        if unknown:
            raise UsageError(f"--group: unknown group {unknown[0]!r}",
                             hint=f"groups: {', '.join(policy.groups)}")
        data = yamlio.load(snap.read(POLICY_PATH) or b"", POLICY_PATH)
        entry: dict[str, object] = {"name": name}
        if email:
            entry["email"] = email
        entry["keys"] = yamlio.seq(list(keys))
        data["people"][person] = yamlio.flow_map(entry)
        for group in groups:
            data["groups"][group]["members"].append(person)
        change = Change(subject=f"policy: add {person} ({name})"
                        + (f" to {', '.join(groups)}" if groups else ""), action="policy")
        change.files[POLICY_PATH] = yamlio.dump(data)
        return change

    snap = desk.snapshot()
    policy = snap.policy
    signer = None
    if any(policy.people[a].keys for a in policy.admins if a in policy.people):
        key = SigningKey.from_git(desk.repo, gitio.identity(desk.repo, "COMMITTER").email)
        if key is None:
            raise GitdeskError("changing the policy needs a commit signed by a policy admin",
                               hint="configure git signing (gpg.format, user.signingkey)")
        signer = key.sign
    return desk.commit(build, signer=signer)
