"""How one changed path of a commit is judged against the version before it: the
desk's own files (admin signatures), tickets (the per-file rules), approvals (signed
by the approver named in the entry)."""

from __future__ import annotations

from typing import Any

from gitdesk import gitio
from gitdesk.domain.approvals import barred, content_hash, groups_for, required_levels
from gitdesk.domain.config import CONFIG_PATH, DESK_DIR, POLICY_PATH, Policy
from gitdesk.domain.model import plain
from gitdesk.errors import InvalidFile
from gitdesk.verify import signing
from gitdesk.verify.configs import parse_config, parse_policy
from gitdesk.verify.files import Rules, Violation, blob_size, check_change
from gitdesk.verify.tree import DeskTree
from gitdesk.yaml import roundtrip as yamlio
from gitdesk.yaml.ticket import parse_blob


class Signer:
    """The commit's signature, checked lazily against the parent's policy."""

    def __init__(self, repo: gitio.Repo, oid: str, policy: Policy | None,
                 keys: dict[str, bytes]) -> None:
        self.repo, self.oid, self.policy, self.keys = repo, oid, policy, keys
        self._verdict: signing.Verdict | None = None

    def opener(self, path: str) -> str | None:
        """The policy person who opened the ticket at path (author of the commit that
        added the file, before this one), if the policy knows them."""
        if self.policy is None:
            return None
        email = gitio.creator_email(self.repo, f"{self.oid}^", path)
        person = self.policy.person_by_email(email) if email else None
        return person.id if person else None

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


def desk_file(path: str, new_oid: str | None, head: DeskTree, signer: Signer,
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
    if trusted_base and policy is not None and admins_have_keys(policy):
        verdict = signer.verdict()
        if not verdict.trusted or verdict.person not in policy.admins:
            who = f"signed by {verdict.person}" if verdict.person else verdict.reason
            problems.append(Violation(
                path, "admin", f"changes to {DESK_DIR} must be signed by a policy admin "
                               f"({who})",
                hint=f"admins: {', '.join(policy.admins)}; commit with `git commit -S` "
                     "using a key listed for you in .gitdesk/policy.yaml"))
    return problems


def admins_have_keys(policy: Policy) -> bool:
    """Until an admin has a key, .gitdesk/ changes are trusted on first use."""
    return any(policy.people[a].keys for a in policy.admins if a in policy.people)


def load(snap: DeskTree, path: str) -> Any:
    """A ticket file of the tree as plain data (None if absent), parsed once per tree."""
    if path in snap.loaded:
        return snap.loaded[path]
    data = snap.read(path)
    if data is None:
        found = None
    else:
        fast = parse_blob(data, path)  # the fast reader when the file is in gitdesk's layout
        found = fast if fast is not None else plain(yamlio.load(data, path))
    snap.loaded[path] = found
    return found


def ticket(rules: Rules, path: str, base: DeskTree, head: DeskTree,
           signer: Signer) -> tuple[list[Violation], int]:
    """A ticket file changed by a commit with one parent; and how many approvals it adds."""
    size = len(head.read(path) or b"")
    if size > rules.config.limits.ticket_bytes:
        return blob_size(rules.config, path, size), 0
    try:
        old = load(base, path)
        new = load(head, path)
    except InvalidFile as exc:
        return [Violation(path, "schema", p) for p in exc.problems], 0
    problems = check_change(rules, path, old, new)
    if new is None or problems:
        return problems, 0
    known = list((old or {}).get("approvals") or [])
    return added_approvals(rules, path, new, known, signer)


def added_approvals(rules: Rules, path: str, new: dict[str, Any], known: list[Any],
                    signer: Signer) -> tuple[list[Violation], int]:
    """Approval entries the commit itself adds (none of its parents has them) must be
    signed by their approver; returns the problems and how many there are."""
    added = [a for a in new.get("approvals") or [] if a not in known]
    problems: list[Violation] = []
    for entry in added:
        problems += approval(rules, path, new, entry, signer)
    return problems, len(added)


def approval(rules: Rules, path: str, data: dict[str, Any], entry: dict[str, Any],
              signer: Signer) -> list[Violation]:
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
    why = barred(rules.policy, data, who, opened_by=signer.opener(path)) \
        if entry.get("decision") == "approved" else None
    if why:
        return [Violation(path, "separation", f"{tid}: {who} {why} and may not approve it "
                                              "(separation_of_duties in the policy)",
                          hint="another member of the group approves")]
    if entry.get("content_hash") != content_hash(data):
        return [Violation(path, "approval", f"{tid}: the approval's content hash does not "
                                            "match the ticket's reviewed content",
                          hint="approve the ticket as it is in this commit")]
    return []
