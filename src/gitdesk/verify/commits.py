"""The commit verifier: may this commit enter the desk's history?

One function, `verify_commit`, judges a commit against the config, policy
and tickets of its parent. gitdesk runs it on every commit it makes before
moving the branch; `gitdesk verify REVRANGE` (CI on pull requests) and the
server hooks run it on commits made by any other means. The checks:

1. every changed ticket file parses and matches the schema;
2. status changes follow the workflow, with the target state's fields;
3. no ticket is deleted, id/uid/type never change, notes, events and
   approvals are append-only;
4. an added approval is in a commit signed by a key the parent's policy
   gives the approver named in the entry, who is in a group the ticket's
   approval levels ask for; one approval per commit; its content hash is
   the ticket's reviewed content;
5. a ticket enters an approval-gated state only when its levels are met by
   approvals on its current content (an edit of reviewed content voids them);
6. a commit that changes .gitdesk/ is signed by an admin of the parent's policy.

Trust starts at the first commit that holds a policy; after that it only
flows through signatures checked against the previous policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gitdesk import gitio
from gitdesk.domain.approvals import Approver, content_hash, groups_for, required_levels
from gitdesk.domain.config import CONFIG_PATH, POLICY_PATH, Policy
from gitdesk.domain.model import plain
from gitdesk.errors import GitdeskError, InvalidFile
from gitdesk.verify import signing
from gitdesk.verify.configs import parse_config, parse_policy
from gitdesk.verify.files import Rules, Violation, check_change
from gitdesk.verify.tree import DeskTree
from gitdesk.yaml import roundtrip as yamlio
from gitdesk.yaml.ticket import parse_blob

DESK_DIR = ".gitdesk/"


@dataclass(frozen=True)
class Finding:
    commit: str
    violation: Violation

    def line(self) -> str:
        v = self.violation
        fix = f" — fix: {v.hint}" if v.hint else ""
        return f"{self.commit[:10]} {v.path}: {v.message} [{v.rule}]{fix}"

    def record(self) -> dict[str, Any]:
        v = self.violation
        return {"commit": self.commit, "path": v.path, "rule": v.rule, "message": v.message,
                "hint": v.hint}


class _Signer:
    """The commit's signature, checked lazily against the parent's policy."""

    def __init__(self, repo: gitio.Repo, oid: str, policy: Policy | None,
                 keys: dict[str, bytes]) -> None:
        self.repo, self.oid, self.policy, self.keys = repo, oid, policy, keys
        self._verdict: signing.Verdict | None = None

    def verdict(self) -> signing.Verdict:
        if self._verdict is None:
            found = gitio.signature_of(self.repo, self.oid)
            if found is None:
                self._verdict = signing.Verdict(None, "the commit is not signed")
            elif self.policy is None:
                self._verdict = signing.Verdict(None, "no policy to check the signature against")
            else:
                self._verdict = signing.verify(found[0], found[1], self.policy, self.keys)
        return self._verdict


def verify_commit(repo: gitio.Repo, commit: gitio.Commit, *,
                  approvers: Callable[[Any], list[Approver]] | None = None) -> list[Violation]:
    """Every violation of the rules by this commit, judged against its parent.

    `approvers` decides whose approvals count at an approval gate; by default the
    entries on the current content (each was checked when its commit was)."""
    parents = list(commit.parents)
    base = DeskTree(repo, parents[0] if parents else None)
    head = DeskTree(repo, commit)
    trusted_base = base.read(POLICY_PATH) is not None
    rules, policy, problems = _rules(base if trusted_base else head)
    if rules is None:
        return problems
    if approvers is not None:
        rules = Rules(rules.config, rules.policy, approvers)
    keys = (base if trusted_base else head).openpgp_keys()
    signer = _Signer(repo, str(commit.id), policy, keys)
    others = [DeskTree(repo, p) for p in parents[1:]]
    violations: list[Violation] = []
    new_approvals = 0
    for path, _old_oid, new_oid in gitio.changed_blobs(repo, base.tree, head.tree):
        if any(o.blob_oid(path) == new_oid for o in others):
            continue  # merged unchanged from another parent, where it was verified
        if path.startswith(DESK_DIR):
            violations += _desk_file(path, new_oid, head, signer, policy, trusted_base)
        elif path.startswith("tickets/") and path.endswith(".yaml"):
            found, added = _ticket(rules, path, base, head, others, signer)
            violations += found
            new_approvals += added
    if new_approvals > 1:
        violations.append(Violation("(commit)", "approval",
                                    f"{new_approvals} approvals in one commit",
                                    hint="record one approval per signed commit"))
    return violations


def _rules(snap: DeskTree) -> tuple[Rules | None, Policy | None, list[Violation]]:
    try:
        config = snap.config
        policy = snap.policy if snap.read(POLICY_PATH) is not None else None
    except InvalidFile as exc:
        return None, None, [Violation(exc.path, "config", p) for p in exc.problems]
    except GitdeskError as exc:
        return None, None, [Violation(CONFIG_PATH, "config", exc.message)]
    return Rules(config, policy), policy, []


def _desk_file(path: str, new_oid: str | None, head: DeskTree, signer: _Signer,
               policy: Policy | None, trusted_base: bool) -> list[Violation]:
    problems = []
    if new_oid is not None and path in (CONFIG_PATH, POLICY_PATH):
        parse = parse_config if path == CONFIG_PATH else parse_policy
        try:
            parse(gitio.blob_data(head.repo, new_oid))
        except InvalidFile as exc:
            problems += [Violation(path, "config", p) for p in exc.problems]
    elif new_oid is None and path in (CONFIG_PATH, POLICY_PATH):
        problems.append(Violation(path, "config", f"{path} cannot be deleted"))
    if trusted_base and policy is not None and _admins_have_keys(policy):
        verdict = signer.verdict()
        if not verdict.trusted or verdict.person not in policy.admins:
            who = f"signed by {verdict.person}" if verdict.person else verdict.reason
            problems.append(Violation(
                path, "admin", f"changes to {DESK_DIR} must be signed by a policy admin "
                               f"({who})",
                hint=f"admins: {', '.join(policy.admins)}; commit with `git commit -S` "
                     "using a key listed for you in .gitdesk/policy.yaml"))
    return problems


def _admins_have_keys(policy: Policy) -> bool:
    """Until an admin has a key, .gitdesk/ changes are trusted on first use."""
    return any(policy.people[a].keys for a in policy.admins if a in policy.people)


def _load(snap: DeskTree, path: str) -> Any:
    data = snap.read(path)
    if data is None:
        return None
    fast = parse_blob(data, path)  # the fast reader when the file is in gitdesk's layout
    return fast if fast is not None else plain(yamlio.load(data, path))


def _ticket(rules: Rules, path: str, base: DeskTree, head: DeskTree, others: list[DeskTree],
            signer: _Signer) -> tuple[list[Violation], int]:
    try:
        old = _load(base, path)
        new = _load(head, path)
    except InvalidFile as exc:
        return [Violation(path, "schema", p) for p in exc.problems], 0
    problems = check_change(rules, path, old, new)
    if new is None or problems:
        return problems, 0
    known = list((old or {}).get("approvals") or [])
    for other in others:
        try:
            theirs = _load(other, path)
        except InvalidFile:
            continue
        known += list((theirs or {}).get("approvals") or [])
    added = [a for a in new.get("approvals") or [] if a not in known]
    for entry in added:
        problems += _approval(rules, path, new, entry, signer)
    return problems, len(added)


def _approval(rules: Rules, path: str, data: dict[str, Any], entry: dict[str, Any],
              signer: _Signer) -> list[Violation]:
    who = str(entry.get("by"))
    verdict = signer.verdict()
    tid = data["id"]
    if not verdict.trusted:
        return [Violation(path, "signature", f"{tid}: approval by {who} is not trusted: "
                                             f"{verdict.reason}",
                          hint="approve with `gitdesk approve`, which signs the commit with "
                               "your key from the policy")]
    if verdict.person != who:
        return [Violation(path, "signature", f"{tid}: approval names {who} but the commit is "
                                             f"signed by {verdict.person}",
                          hint="each approver signs their own approval")]
    levels = required_levels(rules.config, rules.policy, data)
    groups = groups_for(levels, rules.policy, who)
    if not groups:
        asked = ", ".join(level.group for level in levels) or "no approvals"
        return [Violation(path, "approver", f"{tid}: {who} is not in a group whose approval "
                                            f"it needs ({asked})")]
    if entry.get("group") is not None and entry["group"] not in groups:
        return [Violation(path, "approver", f"{tid}: {who} approves for group "
                                            f"{entry['group']}, which is not theirs here")]
    if entry.get("content_hash") != content_hash(data):
        return [Violation(path, "approval", f"{tid}: the approval's content hash does not "
                                            "match the ticket's reviewed content",
                          hint="approve the ticket as it is in this commit")]
    return []


def verify_range(repo: gitio.Repo, revisions: list[str]) -> Iterator[Finding]:
    for oid in gitio.rev_list(repo, revisions):
        commit = gitio.commit_at(repo, oid)
        if commit is None:
            continue
        for violation in verify_commit(repo, commit):
            yield Finding(oid, violation)
