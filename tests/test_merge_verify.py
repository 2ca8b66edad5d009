"""A merge the verifier accepts loses nothing any parent had (hypothesis).

Merge commits are built with libgit2 in a real repository: two sides made from
the desk's tip (notes added, tickets opened), sometimes a parentless commit
holding a copy of the desk, and a merged tree that takes each ticket file from
one side, from the merge base, from neither, or as the union of both sides'
notes. Whatever the shape, when the verifier finds nothing wrong, every ticket
of every parent is in the merge with all of that parent's notes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitdesk import gitio
from gitdesk.domain.clock import Identity
from gitdesk.domain.model import Flow, plain
from gitdesk.store.write import Desk
from gitdesk.verify.commits import anchor_of, verify_commit
from gitdesk.yaml import roundtrip as yamlio
from support.cli import Gitdesk
from support.git import isolate

WHO = Identity("Test User", "test@example.org", 1_900_000_000, 0)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[gitio.Repo, list[str]]]:
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("merges")
    isolate(mp, base)
    path = base / "desk"
    Gitdesk(base)("init", str(path)).ok()
    desk = Gitdesk(path)
    ids = [desk("open", "incident", "-s", f"Ticket {i}").ok().stdout.strip() for i in range(3)]
    for tid in ids:
        desk("note", tid, "-m", f"first note on {tid}").ok()
    yield gitio.open_repo(path), ids
    mp.undo()


def tickets_of(repo: gitio.Repo, oid: str) -> dict[str, dict[str, Any]]:
    commit = gitio.get_commit(repo, oid)
    out = {}
    for path, _o, new in gitio.changed_blobs(repo, None, commit.tree):
        if path.startswith("tickets/") and new is not None:
            out[path] = plain(yamlio.load(gitio.blob_data(repo, new), path))
    return out


def with_note(data: dict[str, Any], text: str, minute: int) -> dict[str, Any]:
    data = dict(data)
    data["notes"] = [*data.get("notes", []),
                     {"at": f"2030-01-01T10:{minute:02d}:00Z", "by": "someone", "text": text,
                      "internal": False}]
    return data


def dump(data: dict[str, Any]) -> bytes:
    styled = {k: ([Flow(x) for x in v] if k in ("notes", "links") else
                  Flow(v) if isinstance(v, dict) else v) for k, v in data.items()}
    return yamlio.dump(styled)


def commit(repo: gitio.Repo, base_tree: Any, files: dict[str, bytes | None],
           parents: list[str]) -> str:
    changes = {p: (gitio.write_blob(repo, d) if d is not None else None)
               for p, d in files.items()}
    tree = gitio.build_tree(repo, base_tree, changes)
    return gitio.create_commit(repo, tree=tree, parents=parents, author=WHO, committer=WHO,
                               message="test\n")


side_ops = st.lists(st.tuples(st.sampled_from(["note", "new"]), st.integers(0, 2)),
                    min_size=0, max_size=3)
choices = st.sampled_from(["ours", "theirs", "base", "absent", "union"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ours_ops=side_ops, theirs_ops=side_ops, picks=st.lists(choices, min_size=6, max_size=6),
       stranger=st.sampled_from([None, "first", "second"]))
def test_an_accepted_merge_loses_nothing_a_parent_had(
        repo: tuple[gitio.Repo, list[str]], ours_ops: list[tuple[str, int]],
        theirs_ops: list[tuple[str, int]], picks: list[str], stranger: str | None) -> None:
    git, _ids = repo
    desk = Desk(git, "refs/heads/main")
    tip = desk.snapshot()
    assert tip.oid is not None
    base = tickets_of(git, tip.oid)
    paths = sorted(base)

    def side(ops: list[tuple[str, int]], tag: str) -> tuple[str, dict[str, dict[str, Any]]]:
        files = {p: dict(d) for p, d in base.items()}
        for n, (op, i) in enumerate(ops):
            path = paths[i]
            if op == "note":
                files[path] = with_note(files[path], f"{tag} {n}", n + (30 if tag == "B" else 0))
            else:
                new_path = path.replace(".yaml", f"-{tag}{n}.yaml")
                files[new_path] = files[path]
        changed = {p: dump(d) for p, d in files.items() if files[p] != base.get(p)}
        return commit(git, tip.tree, dict(changed), [tip.oid or ""]), files

    ours, ours_files = side(ours_ops, "A")
    theirs, theirs_files = side(theirs_ops, "B")
    every = sorted(set(ours_files) | set(theirs_files))
    merged: dict[str, bytes | None] = {}
    for n, path in enumerate(every):
        pick = picks[n % len(picks)]
        a, b, o = ours_files.get(path), theirs_files.get(path), base.get(path)
        if pick == "union" and a is not None and b is not None:
            notes = {repr(sorted(x.items())): x for x in [*a["notes"], *b["notes"]]}
            union = dict(a, notes=sorted(notes.values(), key=lambda x: x["at"]))
            merged[path] = dump(union)
        else:
            version = {"ours": a, "theirs": b, "base": o, "absent": None, "union": a}[pick]
            merged[path] = dump(version) if version is not None else None
    parents = [ours, theirs]
    if stranger is not None:
        root = commit(git, tip.tree, {}, [])
        parents = [root, ours] if stranger == "first" else [ours, root]
    merge = commit(git, tip.tree, merged, parents)
    problems = verify_commit(git, gitio.get_commit(git, merge), anchor=anchor_of(git, tip.oid))
    if problems:
        return
    assert stranger is None, "a merge with a parentless stranger was accepted"
    after = tickets_of(git, merge)
    for parent in parents:
        for path, data in tickets_of(git, parent).items():
            assert path in after, f"accepted a merge that drops {path}"
            kept = [repr(sorted(n.items())) for n in after[path].get("notes", [])]
            for note in data.get("notes", []):
                assert repr(sorted(note.items())) in kept, f"accepted a merge dropping {note}"


def test_the_property_sees_both_verdicts(repo: tuple[gitio.Repo, list[str]]) -> None:
    """The property above is not vacuous: a clean union passes, dropping a side fails."""
    git, _ids = repo
    tip = Desk(git, "refs/heads/main").snapshot()
    assert tip.oid is not None
    base = tickets_of(git, tip.oid)
    path = sorted(base)[0]
    a = with_note(base[path], "ours", 1)
    b = with_note(base[path], "theirs", 2)
    ours = commit(git, tip.tree, {path: dump(a)}, [tip.oid])
    theirs = commit(git, tip.tree, {path: dump(b)}, [tip.oid])
    anchor = anchor_of(git, tip.oid)
    union = dict(a, notes=[*base[path]["notes"], a["notes"][-1], b["notes"][-1]])
    good = commit(git, tip.tree, {path: dump(union)}, [ours, theirs])
    assert verify_commit(git, gitio.get_commit(git, good), anchor=anchor) == []
    bad = commit(git, tip.tree, {path: dump(a)}, [ours, theirs])
    rules = [v.rule for v in verify_commit(git, gitio.get_commit(git, bad), anchor=anchor)]
    assert rules == ["append-only"]
    assert Path(git.git_dir).exists()
