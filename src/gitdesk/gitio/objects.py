"""Objects in the repository: blobs, trees and commits, read and written through
pygit2, and the references that point at commits."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pygit2

from gitdesk.domain.clock import Identity
from gitdesk.errors import GitdeskError, NotFound
from gitdesk.gitio.process import run_status

if TYPE_CHECKING:
    from gitdesk.gitio.repo import Repo

# The object types the rest of gitdesk may name (it never imports pygit2 itself).
Commit = pygit2.Commit
Tree = pygit2.Tree
BLOB_MODE = pygit2.enums.FileMode.BLOB
TREE_MODE = pygit2.enums.FileMode.TREE


def _signature(ident: Identity) -> pygit2.Signature:
    return pygit2.Signature(ident.name, ident.email, ident.time, ident.offset)


def tip(repo: Repo, ref: str) -> pygit2.Commit | None:
    reference = repo.git.references.get(ref)
    if reference is None:
        return None
    obj = repo.git.get(reference.resolve().target)
    if not isinstance(obj, pygit2.Commit):
        raise GitdeskError(f"{ref} does not point at a commit")
    return obj


def rev_commit(repo: Repo, rev: str) -> pygit2.Commit:
    try:
        obj = repo.git.revparse_single(rev)
        commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise NotFound(f"unknown revision: {rev}") from exc
    return commit


def commit_at(repo: Repo, oid: str) -> pygit2.Commit | None:
    """The commit with this id, or None if there is none (or it is another object)."""
    try:
        obj = repo.git.get(oid)
    except (ValueError, pygit2.GitError):
        return None
    return obj if isinstance(obj, pygit2.Commit) else None


def get_commit(repo: Repo, oid: str) -> pygit2.Commit:
    """The commit with this id; NotFound if there is none."""
    commit = commit_at(repo, oid)
    if commit is None:
        raise NotFound(f"no commit {oid}")
    return commit


def descends_from(repo: Repo, tip: str, old: str) -> bool:
    """Whether `old` is `tip` or one of its ancestors."""
    if old == tip:
        return True
    try:
        return bool(repo.git.descendant_of(pygit2.Oid(hex=tip), pygit2.Oid(hex=old)))
    except (KeyError, ValueError, pygit2.GitError):
        return False


def ref_target(repo: Repo, ref: str) -> str | None:
    """The commit a reference points at (symbolic references resolved), or None."""
    try:
        reference = repo.git.references.get(ref)
        return str(reference.resolve().target) if reference is not None else None
    except (KeyError, ValueError, pygit2.GitError):
        return None


def subtree(repo: Repo, tree: pygit2.Tree | None, path: str) -> pygit2.Tree | None:
    """The directory at path as a tree, or None if it is missing or not a directory."""
    obj = entry(repo, tree, path)
    return obj if isinstance(obj, pygit2.Tree) else None


def entry(repo: Repo, tree: pygit2.Tree | None, path: str) -> pygit2.Object | None:
    if tree is None:
        return None
    try:
        return tree[path]
    except KeyError:
        return None


def read_blob(repo: Repo, tree: pygit2.Tree | None, path: str) -> bytes | None:
    obj = entry(repo, tree, path)
    if obj is None or not isinstance(obj, pygit2.Blob):
        return None
    return bytes(obj.data)


def blob_data(repo: Repo, oid: str | pygit2.Oid) -> bytes:
    obj = repo.git.get(oid)
    if not isinstance(obj, pygit2.Blob):
        raise NotFound(f"no blob {oid}")
    return bytes(obj.data)


def list_dir(repo: Repo, tree: pygit2.Tree | None, path: str) -> list[tuple[str, str, bool]]:
    """Entries (name, oid, is_tree) of the directory at path; empty if missing."""
    obj = tree if path in ("", ".") else entry(repo, tree, path)
    if not isinstance(obj, pygit2.Tree):
        return []
    return [(e.name or "", str(e.id), e.type_str == "tree") for e in obj]


def write_blob(repo: Repo, data: bytes) -> str:
    return str(repo.git.create_blob(data))


def build_tree(repo: Repo, base: pygit2.Tree | None, changes: Mapping[str, str | None]) -> str:
    """A new tree: base with each path set to a blob oid, or removed when None."""
    here: dict[str, str | None] = {}
    below: dict[str, dict[str, str | None]] = {}
    for path, oid in changes.items():
        head, sep, rest = path.partition("/")
        if sep:
            below.setdefault(head, {})[rest] = oid
        else:
            here[head] = oid
    builder = repo.git.TreeBuilder(base) if base is not None else repo.git.TreeBuilder()
    for name, oid in here.items():
        if oid is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, pygit2.Oid(hex=oid), BLOB_MODE)
    for name, sub in below.items():
        current = builder.get(name)
        sub_base = repo.git.get(current.id) if current is not None else None
        if sub_base is not None and not isinstance(sub_base, pygit2.Tree):
            raise GitdeskError(f"{name} is a file where gitdesk expects a directory")
        new_oid = build_tree(repo, sub_base, sub)
        new_tree = repo.git.get(new_oid)
        if isinstance(new_tree, pygit2.Tree) and len(new_tree) == 0:
            if current is not None:
                builder.remove(name)
        else:
            builder.insert(name, pygit2.Oid(hex=new_oid), TREE_MODE)
    return str(builder.write())


def create_commit(repo: Repo, *, tree: str, parents: list[str], author: Identity,
                  committer: Identity, message: str, signature: str | None = None) -> str:
    """Write a commit object (no ref moves). With signature, the commit is signed."""
    if signature is None:
        oid = repo.git.create_commit(None, _signature(author), _signature(committer), message,
                                     pygit2.Oid(hex=tree), [pygit2.Oid(hex=p) for p in parents])
        return str(oid)
    content = commit_content(repo, tree=tree, parents=parents, author=author,
                             committer=committer, message=message)
    return str(repo.git.create_commit_with_signature(content, signature))


def commit_content(repo: Repo, *, tree: str, parents: list[str], author: Identity,
                   committer: Identity, message: str) -> str:
    """The raw commit text that a signature covers."""
    lines = [f"tree {tree}"] + [f"parent {p}" for p in parents]
    lines.append(f"author {format_ident(author)}")
    lines.append(f"committer {format_ident(committer)}")
    return "\n".join(lines) + "\n\n" + message


def format_ident(ident: Identity) -> str:
    sign = "-" if ident.offset < 0 else "+"
    hours, minutes = divmod(abs(ident.offset), 60)
    return f"{ident.name} <{ident.email}> {ident.time} {sign}{hours:02d}{minutes:02d}"


def changed_blobs(repo: Repo, old: pygit2.Tree | None, new: pygit2.Tree | None,
                  prefix: str = "") -> Iterator[tuple[str, str | None, str | None]]:
    """(path, old blob, new blob) of every file that differs, comparing tree ids
    level by level so unchanged directories (shards) are skipped whole."""
    if old is not None and new is not None and old.id == new.id:
        return
    old_entries = {e.name or "": e for e in old} if old is not None else {}
    new_entries = {e.name or "": e for e in new} if new is not None else {}
    for name in sorted(set(old_entries) | set(new_entries)):
        before, after = old_entries.get(name), new_entries.get(name)
        if before is not None and after is not None and before.id == after.id:
            continue
        path = f"{prefix}/{name}" if prefix else name
        sub_old, sub_new = _as_tree(repo, before), _as_tree(repo, after)
        if sub_old is not None or sub_new is not None:
            yield from changed_blobs(repo, sub_old, sub_new, path)
        old_blob = str(before.id) if before is not None and before.type_str == "blob" else None
        new_blob = str(after.id) if after is not None and after.type_str == "blob" else None
        if old_blob is not None or new_blob is not None:
            yield path, old_blob, new_blob


def _as_tree(repo: Repo, item: pygit2.Object | None) -> pygit2.Tree | None:
    if item is None or item.type_str != "tree":
        return None
    obj = repo.git.get(item.id)
    return obj if isinstance(obj, pygit2.Tree) else None


def signature_of(repo: Repo, oid: str) -> tuple[str, bytes] | None:
    """The commit's signature and the bytes it signs, or None if unsigned."""
    commit = repo.git.get(oid)
    if not isinstance(commit, pygit2.Commit):
        return None
    signature, data = commit.gpg_signature
    if not signature:
        return None
    sig_text = signature.decode("ascii", "replace") if isinstance(signature, bytes) \
        else str(signature)
    payload = data if isinstance(data, bytes) else str(data).encode("utf-8")
    return sig_text, payload


def merge_blobs(repo: Repo, base: str | None, ours: str, theirs: str) -> str | None:
    """git's own line merge of three blobs (`git merge-file`); the merged blob, or None
    when the sides changed the same lines."""
    with tempfile.TemporaryDirectory(prefix="gitdesk-merge-") as folder:
        names = []
        for label, oid in (("base", base), ("ours", ours), ("theirs", theirs)):
            path = os.path.join(folder, label)
            with open(path, "wb") as out:
                out.write(blob_data(repo, oid) if oid is not None else b"")
            names.append(path)
        code, merged = run_status(repo, ["merge-file", "-p", names[1], names[0], names[2]])
    if code != 0:
        return None
    return write_blob(repo, merged)
