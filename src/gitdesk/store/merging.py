"""Two tips of a desk merged in process, as git with gitdesk's merge driver would.

libgit2 runs no merge drivers, so every ticket file changed on both sides since
the merge base goes through the ticket merge (domain.merge) here, with the same
inputs the driver has; a file changed on one side is that side's, as in git's
own trivial merge. Two clones that opened a ticket with the same ID (different
uid) keep both: ours, not yet on the remote, gets a fresh ID (its uid stays),
links to it on our side follow, and a note on it says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitdesk import gitio
from gitdesk.domain import ids
from gitdesk.domain.clock import iso
from gitdesk.domain.config import CONFIG_PATH, DESK_DIR, DeskConfig
from gitdesk.domain.merge import Side, merge_ticket, styled
from gitdesk.domain.model import Note, is_ticket_file, ticket_path
from gitdesk.errors import GitdeskError
from gitdesk.gitio.remote import UNKNOWN, Stamp, last_changes
from gitdesk.verify.tree import DeskTree
from gitdesk.yaml.emitter import dump_ticket
from gitdesk.yaml.ticket import parse_blob


@dataclass
class TreeMerge:
    """The merged tree and what it took."""

    tree: str
    merged: list[str] = field(default_factory=list)      # tickets both sides changed
    conflicts: list[str] = field(default_factory=list)   # of those, with conflict entries
    renumbered: list[tuple[str, str]] = field(default_factory=list)  # (old id, new id)


@dataclass
class _Sides:
    repo: gitio.Repo
    base: str | None
    ours: str
    theirs: str
    mine: dict[str, str | None]      # paths our side changed since the base: new blob
    others: dict[str, str | None]    # the same for their side
    files: dict[str, str | None] = field(default_factory=dict)  # the merge, over ours
    stamps: tuple[dict[str, Stamp], dict[str, Stamp]] | None = None


def merge_tips(repo: gitio.Repo, base: str | None, ours: str, theirs: str, *,
               now: datetime) -> TreeMerge:
    """The merge of theirs into ours (commits; base their merge base). Raises
    GitdeskError for what only a person can merge: both sides changed the same
    file of .gitdesk/, or the same lines of another file."""
    ours_commit, theirs_commit = gitio.get_commit(repo, ours), gitio.get_commit(repo, theirs)
    base_commit = gitio.commit_at(repo, base) if base else None
    base_tree = base_commit.tree if base_commit is not None else None
    sides = _Sides(repo, base, ours, theirs,
                   {p: n for p, _o, n in gitio.changed_blobs(repo, base_tree, ours_commit.tree)},
                   {p: n for p, _o, n in gitio.changed_blobs(repo, base_tree,
                                                             theirs_commit.tree)})
    both = sorted(p for p, new in sides.others.items()
                  if p in sides.mine and sides.mine[p] != new)
    for path, new in sides.others.items():
        if path not in sides.mine:
            sides.files[path] = new
    result = TreeMerge(tree="")
    for path in both:
        if is_ticket_file(path):
            continue
        if path.startswith(DESK_DIR):
            raise GitdeskError(f"both sides changed {path}: merge it by hand",
                               hint="an admin merges .gitdesk/ with git and signs the merge")
        sides.files[path] = _lines(repo, path, base_tree, sides.mine[path], sides.others[path])
    tickets = [p for p in both if is_ticket_file(p)]
    if tickets:
        side = theirs_commit if CONFIG_PATH in sides.others else ours_commit
        config = DeskTree(repo, side, cached=True).config
        collided = [path for path in tickets if not _ticket(sides, config, path, base_tree,
                                                              result)]
        for path in collided:  # last: links rewritten where the merge left them
            _renumber(sides, path, ours_commit.tree, result, now)
    result.tree = gitio.build_tree(repo, ours_commit.tree, sides.files)
    return result


def _lines(repo: gitio.Repo, path: str, base_tree: gitio.Tree | None, ours: str | None,
           theirs: str | None) -> str:
    if ours is None or theirs is None:
        raise GitdeskError(f"{path}: one side changed it, the other deleted it: merge it by "
                           "hand")
    base = gitio.entry(repo, base_tree, path)
    merged = gitio.merge_blobs(repo, str(base.id) if base is not None else None, ours, theirs)
    if merged is None:
        raise GitdeskError(f"both sides changed the same lines of {path}: merge it by hand")
    return merged


def _load(repo: gitio.Repo, oid: str | None, path: str) -> dict[str, Any] | None:
    if oid is None:
        return None
    found = parse_blob(gitio.blob_data(repo, oid), path)
    if found is None:
        raise GitdeskError(f"{path}: a side is not a ticket gitdesk can read; merge it by "
                           "hand (see `gitdesk doctor`)")
    return found


def _ticket(sides: _Sides, config: DeskConfig, path: str, base_tree: gitio.Tree | None,
            result: TreeMerge) -> bool:
    """Merge one ticket file into sides.files; False for an ID collision."""
    repo = sides.repo
    entry = gitio.entry(repo, base_tree, path)
    base = _load(repo, str(entry.id) if entry is not None else None, path)
    ours = _load(repo, sides.mine[path], path)
    theirs = _load(repo, sides.others[path], path)
    merged = merge_ticket(config, base, Side(ours), Side(theirs))
    if merged.conflicts:  # a winner had to be chosen: by the sides' last commits
        stamps = _stamps(sides)
        merged = merge_ticket(config, base, Side(ours, *stamps[0].get(path, UNKNOWN)),
                              Side(theirs, *stamps[1].get(path, UNKNOWN)))
    if merged.collision:
        return False
    assert merged.data is not None
    sides.files[path] = gitio.write_blob(repo, dump_ticket(merged.data))
    result.merged.append(str(merged.data["id"]))
    if merged.conflicts:
        result.conflicts.append(str(merged.data["id"]))
    return True


def _stamps(sides: _Sides) -> tuple[dict[str, Stamp], dict[str, Stamp]]:
    """Who last changed each ticket on each side, read once for all tickets."""
    if sides.stamps is None:
        paths = sorted(p for p in sides.others if p in sides.mine)
        sides.stamps = (last_changes(sides.repo, sides.base, sides.ours, paths),
                        last_changes(sides.repo, sides.base, sides.theirs, paths))
    return sides.stamps


def _renumber(sides: _Sides, path: str, ours_tree: gitio.Tree, result: TreeMerge,
              now: datetime) -> None:
    """Both sides opened a ticket with this ID: theirs keeps the path, ours moves to a
    fresh ID, and our side's links to it follow."""
    repo = sides.repo
    ours = _load(repo, sides.mine[path], path)
    assert ours is not None
    old, type_name = str(ours["id"]), str(ours["type"])
    prefix = old.partition("-")[0]
    for _attempt in range(16):
        new = ids.ticket_id(prefix, ids.ulid(int(now.timestamp() * 1000)))
        new_path = ticket_path(type_name, new)
        if gitio.entry(repo, ours_tree, new_path) is None and new_path not in sides.others:
            break
    else:
        raise GitdeskError(f"{old}: could not mint a free ticket ID to renumber it")
    sides.files[path] = sides.others[path]
    note = Note(iso(now.astimezone(UTC)), "gitdesk",
                f"Renumbered from {old}: the remote had another ticket with that ID").entry()
    renamed = {**ours, "id": new, "notes": [*ours.get("notes", []), note]}
    sides.files[new_path] = gitio.write_blob(repo, dump_ticket(styled(renamed)))
    for other, blob in sides.mine.items():
        if other == path or blob is None or not other.startswith("tickets/"):
            continue
        data = _load(repo, sides.files.get(other, blob), other)
        if data is None or not any(link.get("id") == old for link in data.get("links", [])):
            continue
        data["links"] = [{**link, "id": new} if link.get("id") == old else link
                         for link in data["links"]]
        sides.files[other] = gitio.write_blob(repo, dump_ticket(styled(data)))
    result.renumbered.append((old, new))
