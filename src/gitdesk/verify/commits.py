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

Trust starts at the first commit that holds a policy (the desk's anchor);
after that it only flows through signatures checked against the previous
policy. A commit without parents, or a merge parent that does not descend from
the anchor, brings history the desk never verified: refused. A merge is judged
against every parent (verify.merges).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gitdesk import gitio
from gitdesk.domain.approvals import Approver
from gitdesk.domain.config import CONFIG_PATH, DESK_DIR, POLICY_PATH, Policy
from gitdesk.domain.model import is_ticket_file
from gitdesk.errors import GitdeskError, InvalidFile
from gitdesk.verify import changes
from gitdesk.verify.changes import Signer
from gitdesk.verify.files import Rules, Violation
from gitdesk.verify.merges import merge_violations
from gitdesk.verify.tree import DeskTree


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


def anchor_of(repo: gitio.Repo, tip: str | None) -> str | None:
    """The desk's first policy commit as seen from tip: the oldest commit on its
    first-parent chain that adds .gitdesk/policy.yaml (None if tip holds no desk)."""
    if tip is None:
        return None
    commit = gitio.commit_at(repo, tip)
    if commit is None or gitio.entry(repo, commit.tree, POLICY_PATH) is None:
        return None
    return gitio.first_adding(repo, tip, POLICY_PATH)


def verify_commit(repo: gitio.Repo, commit: gitio.Commit, *,
                  approvers: Callable[[Any], list[Approver]] | None = None,
                  anchor: str | None = None, cached: bool = False) -> list[Violation]:
    """Every violation of the rules by this commit, judged against its parents.

    `anchor` is the desk's first policy commit (see anchor_of), when the commit is
    judged as part of a branch that already holds a desk. `approvers` decides whose
    approvals count at an approval gate; by default the entries on the current
    content (each was checked when its commit was). `cached` lets the parents'
    config and policy come from the clone's cache (the write path's own check;
    hooks and `gitdesk verify` never trust it)."""
    parents = list(commit.parents)
    oid = str(commit.id)
    ancestry = _ancestry(repo, oid, parents, anchor)
    if ancestry:
        return ancestry
    sides = [DeskTree(repo, p, cached=cached) for p in parents]
    base = sides[0] if sides else DeskTree(repo, None, cached=cached)
    head = DeskTree(repo, commit, cached=cached)
    if head.read(CONFIG_PATH) is None:
        return _not_a_desk(repo, oid, head, sides, anchor)
    trusted_base = base.read(POLICY_PATH) is not None
    rules, policy, problems = _rules(head if len(sides) > 1 or not trusted_base else base,
                                     base if trusted_base else head)
    if rules is None:
        return problems
    if approvers is not None:
        rules = Rules(rules.config, rules.policy, approvers)
    keys = (base if trusted_base else head).openpgp_keys()
    signer = Signer(repo, oid, policy, keys)
    if len(sides) > 1:
        origin = DeskTree(repo, gitio.commit_at(repo, gitio.merge_base(
            repo, [str(p.id) for p in parents]) or ""), cached=cached)
        violations, new_approvals = merge_violations(rules, head, sides, origin, signer,
                                                     policy, trusted_base)
    else:
        violations, new_approvals = _linear(rules, base, head, signer, policy, trusted_base)
    if new_approvals > 1:
        violations.append(Violation("(commit)", "approval",
                                    f"{new_approvals} approvals in one commit",
                                    hint="record one approval per signed commit"))
    return violations


def _ancestry(repo: gitio.Repo, oid: str, parents: list[gitio.Commit],
              anchor: str | None) -> list[Violation]:
    """A branch with a desk takes no history that does not descend from its anchor."""
    if anchor is None or oid == anchor:
        return []
    if len(parents) != 1 and gitio.descends_from(repo, anchor, oid):
        return []  # history from before the desk began
    if not parents:
        return [Violation("(commit)", "history",
                          "a commit without parents cannot join a desk that already has its "
                          "first commit", hint="build on the desk's branch: commit on top of "
                                               "it, or merge it in")]
    if len(parents) > 1:
        strangers = [str(p.id)[:10] for p in parents
                     if not gitio.descends_from(repo, str(p.id), anchor)]
        if strangers:
            return [Violation("(commit)", "history",
                              f"the merge brings in history that does not descend from the "
                              f"desk's first commit {anchor[:10]} (parent "
                              f"{', '.join(strangers)})",
                              hint="merge only branches made from this desk")]
    return []


def _not_a_desk(repo: gitio.Repo, oid: str, head: DeskTree, sides: list[DeskTree],
                anchor: str | None) -> list[Violation]:
    """A commit without .gitdesk/config.yaml: before the desk began it is no concern
    of the verifier; after, it would remove the desk."""
    if any(side.read(CONFIG_PATH) is not None for side in sides):
        return [Violation(CONFIG_PATH, "config", f"{CONFIG_PATH} cannot be deleted",
                          hint="the desk's branch always holds the desk")]
    if anchor is None or gitio.descends_from(repo, anchor, oid):
        return []
    return [Violation(CONFIG_PATH, "config", "the commit holds no desk but is on the "
                                            "desk's branch",
                      hint="keep other work on branches the desk's server does not protect")]


def _linear(rules: Rules, base: DeskTree, head: DeskTree, signer: Signer,
            policy: Policy | None, trusted_base: bool) -> tuple[list[Violation], int]:
    violations: list[Violation] = []
    new_approvals = 0
    for path, _old_oid, new_oid in gitio.changed_blobs(head.repo, base.tree, head.tree):
        if path.startswith(DESK_DIR):
            violations += changes.desk_file(path, new_oid, head, signer, policy, trusted_base)
        elif is_ticket_file(path):
            found, added = changes.ticket(rules, path, base, head, signer)
            violations += found
            new_approvals += added
    return violations, new_approvals


def _rules(desk: DeskTree, trust: DeskTree) -> tuple[Rules | None, Policy | None,
                                                     list[Violation]]:
    """The config tickets are checked against (`desk`) and the policy signatures are
    checked against (`trust`: the parent's, once there is one)."""
    try:
        config = desk.config
        policy = trust.policy if trust.read(POLICY_PATH) is not None else None
    except InvalidFile as exc:
        return None, None, [Violation(exc.path, "config", p) for p in exc.problems]
    except GitdeskError as exc:
        return None, None, [Violation(CONFIG_PATH, "config", exc.message)]
    return Rules(config, policy), policy, []


def range_anchor(repo: gitio.Repo, revisions: list[str]) -> str | None:
    """The anchor a range is judged from: that of the branch it builds on (A of A..B),
    else that of its tip."""
    tips, bases = gitio.range_ends(repo, revisions)
    for oid in (*bases, *tips):
        found = anchor_of(repo, oid)
        if found is not None:
            return found
    return None


def verify_range(repo: gitio.Repo, revisions: list[str], *,
                 anchor: str | None = None) -> Iterator[Finding]:
    """Every violation in the commits of the range, oldest first."""
    anchor = anchor or range_anchor(repo, revisions)
    for oid in gitio.rev_list(repo, revisions):
        commit = gitio.commit_at(repo, oid)
        if commit is None:
            continue
        for violation in verify_commit(repo, commit, anchor=anchor):
            yield Finding(oid, violation)
