"""A merge commit judged against every parent.

A merge may bring together what its parents did, and nothing may get lost on
the way: relative to each parent whose version of a file differs from the
merge's, no ticket is deleted, no note, event or approval is dropped, no
immutable key changes, no link is dropped unless another side removed it since
the merge base, and the status is one a parent had and that the others can
reach through the workflow. Files under .gitdesk/ must be some parent's version
while every other parent left that file as the merge base had it; anything else
is a decision taken in the merge and needs an admin's signature, as for any
commit that changes .gitdesk/.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

from gitdesk import gitio
from gitdesk.domain.config import DESK_DIR, Policy
from gitdesk.domain.model import APPEND_ONLY, IMMUTABLE, is_ticket_file
from gitdesk.domain.workflow import derive_priority, reachable
from gitdesk.errors import InvalidFile
from gitdesk.verify.changes import Signer, added_approvals, desk_file, load
from gitdesk.verify.files import (
    Rules,
    Violation,
    approval_gate,
    blob_size,
    check_file,
    required_fields,
)
from gitdesk.verify.tree import DeskTree

MERGE_HINT = ("merge with `gitdesk sync`, or with git and the gitdesk merge driver "
              "(`gitdesk doctor --fix` configures it), so that both sides' work is kept")


def merge_violations(rules: Rules, head: DeskTree, sides: list[DeskTree], base: DeskTree,
                     signer: Signer, policy: Policy | None,
                     trusted_base: bool) -> tuple[list[Violation], int]:
    """Every violation of a merge commit, and how many approvals it adds itself."""
    repo = head.repo
    paths: set[str] = set()
    for side in sides:
        paths.update(path for path, _o, _n in gitio.changed_blobs(repo, side.tree, head.tree))
    violations: list[Violation] = []
    approvals = 0
    moved, renames = _moved(head, sides, paths)
    for path in sorted(paths):
        if path.startswith(DESK_DIR):
            violations += _desk_file(path, head, sides, base, signer, policy, trusted_base)
        elif is_ticket_file(path):
            found, added = _ticket(rules, path, head, sides, base, signer, moved, renames)
            violations += found
            approvals += added
    return violations, approvals


def _moved(head: DeskTree, sides: list[DeskTree],
           paths: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Tickets renumbered by the merge (one side had opened a ticket with the other's
    ID): by uid, the ticket at its new path, which no parent has, whose uid is that of
    a parent's ticket whose path now holds another ticket; and old ID -> new ID."""
    added: dict[str, Any] = {}
    replaced: dict[str, str] = {}  # uid -> the ID its ticket had
    for path in paths:
        if not is_ticket_file(path):
            continue
        with contextlib.suppress(InvalidFile):
            new = load(head, path)
            if new is None:
                continue
            olds = [load(side, path) for side in sides]
            if all(old is None for old in olds):
                added[str(new.get("uid"))] = new
            for old in olds:
                if old is not None and old.get("uid") != new.get("uid"):
                    replaced[str(old.get("uid"))] = str(old.get("id"))
    moved = {uid: data for uid, data in added.items() if uid in replaced}
    return moved, {replaced[uid]: str(data.get("id")) for uid, data in moved.items()}


def _desk_file(path: str, head: DeskTree, sides: list[DeskTree], base: DeskTree,
               signer: Signer, policy: Policy | None, trusted_base: bool) -> list[Violation]:
    merged = head.blob_oid(path)
    versions = [side.blob_oid(path) for side in sides]
    before = base.blob_oid(path)
    if merged in versions and all(v in (merged, before) for v in versions):
        return []  # one side's verified change, the other sides left the file alone
    return desk_file(path, merged, head, signer, policy, trusted_base)


def _ticket(rules: Rules, path: str, head: DeskTree, sides: list[DeskTree], base: DeskTree,
            signer: Signer, moved: dict[str, Any],
            renames: dict[str, str]) -> tuple[list[Violation], int]:
    size = len(head.read(path) or b"")
    if size > rules.config.limits.ticket_bytes:
        return blob_size(rules.config, path, size), 0
    try:
        new = load(head, path)
        olds = [load(side, path) for side in sides]
        origin = load(base, path)
    except InvalidFile as exc:
        return [Violation(path, "schema", p) for p in exc.problems], 0
    if new is None:
        return [Violation(path, "no-delete", "tickets are never deleted: the merge drops "
                                             "a ticket a parent has", hint=MERGE_HINT)], 0
    problems = check_file(rules.config, path, new)
    if problems:
        return problems, 0
    workflow = rules.config.workflow_for(str(new["type"]), new)
    problems += required_fields(rules.config, workflow, path, new)
    if all(old is None for old in olds) and str(new.get("uid")) not in moved:
        problems.append(Violation(path, "history", f"{new['id']}: the merge opens a ticket "
                                                   "no parent has", hint=MERGE_HINT))
    for i, old in enumerate(olds):
        if old is None or old == new:
            continue
        others = [o for j, o in enumerate(olds) if j != i]
        if str(old.get("uid")) != str(new.get("uid")):  # this side's ticket was renumbered
            renamed = moved.get(str(old.get("uid")))
            if renamed is None:
                problems.append(Violation(path, "immutable", f"{old['id']}: the merge puts "
                                          "another ticket in its place", hint=MERGE_HINT))
                continue
            problems += _against(rules, workflow, path, old, renamed, origin, others, olds,
                                 renames, renumbered=True)
            continue
        problems += _against(rules, workflow, path, old, new, origin, others, olds, renames)
    problems += _derived(rules, path, new)
    if workflow.authorized(str(new["status"])):
        problems += approval_gate(rules, path, new)
    known = [a for old in olds for a in (old or {}).get("approvals") or []]
    found, added = added_approvals(rules, path, new, known, signer)
    return problems + found, added


def _against(rules: Rules, workflow: Any, path: str, old: dict[str, Any], new: dict[str, Any],
             origin: dict[str, Any] | None, others: list[dict[str, Any] | None],
             sides: list[dict[str, Any] | None], renames: dict[str, str], *,
             renumbered: bool = False) -> list[Violation]:
    """What the merge may not do relative to one parent's version (`renumbered`: the
    merge gave this ticket a new ID, because the other side had one with the old)."""
    tid = new["id"]
    problems = []
    for key in IMMUTABLE:
        if key == "id" and renumbered:
            continue
        if old.get(key) != new.get(key):
            problems.append(Violation(path, "immutable", f"{tid}: {key} cannot change "
                                      f"({old.get(key)!r} -> {new.get(key)!r})"))
    for key in APPEND_ONLY:
        if _dropped(old.get(key), new.get(key)):
            problems.append(Violation(path, "append-only",
                                      f"{tid}: the merge drops {key} that a parent has",
                                      hint=MERGE_HINT))
    removed_since = {_link(x) for x in (origin or {}).get("links") or []}
    kept = {_link(x) for x in new.get("links") or []}
    for link in (old.get("links") or []):
        if _link(link) in kept or (str(link.get("rel")), renames.get(str(link.get("id")), "")) \
                in kept:
            continue  # kept, or kept under the ID the merge renumbered its ticket to
        if _link(link) in removed_since and any(
                o is not None and _link(link) not in {_link(x) for x in o.get("links") or []}
                for o in others):
            continue  # the other side removed it since the merge base
        problems.append(Violation(path, "links", f"{tid}: the merge drops the link "
                                                 f"{link.get('rel')} {link.get('id')}",
                                  hint=MERGE_HINT))
    status, before = str(new.get("status")), str(old.get("status"))
    if status != before:
        had = {str(s.get("status")) for s in sides if s is not None}
        recorded = any(isinstance(c, dict) and c.get("field") == "status"
                       and str(c.get("value")) == before for c in new.get("conflicts") or [])
        if status not in had or not (reachable(workflow, before, status) or recorded):
            problems.append(Violation(path, "workflow",
                                      f"{tid}: the merge moves it from {before} to {status}, "
                                      "which the workflow does not allow", hint=MERGE_HINT))
    return problems


def _derived(rules: Rules, path: str, new: dict[str, Any]) -> list[Violation]:
    """A merge must leave derived fields as the desk derives them."""
    if new.get("priority_override"):
        return []
    derived = derive_priority(rules.config, new)
    if derived is None or derived == new.get("priority"):
        return []
    return [Violation(path, "derived", f"{new['id']}: priority is {new.get('priority')!r} but "
                                       f"impact x urgency gives {derived!r}",
                      hint=MERGE_HINT)]


def _dropped(before: Any, after: Any) -> bool:
    """Whether some entry of before is missing from after (entries compared whole)."""
    have = Counter(_key(x) for x in after or [])
    for entry in before or []:
        key = _key(entry)
        if have[key] == 0:
            return True
        have[key] -= 1
    return False


def _key(entry: Any) -> str:
    return repr(sorted(entry.items())) if isinstance(entry, dict) else repr(entry)


def _link(entry: Any) -> tuple[str, str]:
    return (str(entry.get("rel")), str(entry.get("id"))) if isinstance(entry, dict) \
        else ("", repr(entry))
