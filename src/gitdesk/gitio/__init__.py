"""The thin layer over pygit2 and the git binary.

Everything else in gitdesk goes through these functions; none of them knows
what a ticket is. They live in modules by job (repo: the repository handle,
identities, branches; objects: blobs, trees, commits, references; process: the
git binary; worktree: the checkout, its index, local writes and the lock) and
are used from here, as `gitio.X`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitdesk.gitio.history import (
        creator_email,
        first_adding,
        merge_base,
        range_ends,
        ref_tips,
    )
    from gitdesk.gitio.objects import (
        BLOB_MODE,
        TREE_MODE,
        Commit,
        Tree,
        blob_data,
        build_tree,
        changed_blobs,
        commit_at,
        commit_content,
        create_commit,
        descends_from,
        entry,
        format_ident,
        get_commit,
        list_dir,
        merge_blobs,
        read_blob,
        ref_target,
        rev_commit,
        signature_of,
        subtree,
        tip,
        write_blob,
    )
    from gitdesk.gitio.process import (
        ZERO_OID,
        Feeder,
        cas_update_ref,
        rev_list,
        run_git,
        run_status,
        stream_git,
    )
    from gitdesk.gitio.repo import (
        Repo,
        config,
        config_values,
        head_branch,
        head_branch_of_bare,
        identities,
        identity,
        init_repo,
        open_repo,
        parse_ident,
        resolve_ref,
    )
    from gitdesk.gitio.worktree import (
        atomic_write,
        clear_stale_ref_locks,
        dirty_paths,
        hash_file,
        index_oid,
        update_worktree,
        worktree_state,
        write_lock,
    )

# Where each name lives. They are imported when first used, so that a caller that
# needs only the git binary (the merge driver) does not pay for pygit2.
_HOMES = {
    "BLOB_MODE": "objects",
    "Commit": "objects",
    "Feeder": "process",
    "Repo": "repo",
    "TREE_MODE": "objects",
    "Tree": "objects",
    "ZERO_OID": "process",
    "atomic_write": "worktree",
    "blob_data": "objects",
    "build_tree": "objects",
    "cas_update_ref": "process",
    "changed_blobs": "objects",
    "clear_stale_ref_locks": "worktree",
    "commit_at": "objects",
    "commit_content": "objects",
    "config": "repo",
    "config_values": "repo",
    "create_commit": "objects",
    "creator_email": "history",
    "descends_from": "objects",
    "dirty_paths": "worktree",
    "entry": "objects",
    "first_adding": "history",
    "format_ident": "objects",
    "get_commit": "objects",
    "hash_file": "worktree",
    "head_branch": "repo",
    "head_branch_of_bare": "repo",
    "identities": "repo",
    "identity": "repo",
    "index_oid": "worktree",
    "init_repo": "repo",
    "list_dir": "objects",
    "merge_blobs": "objects",
    "merge_base": "history",
    "open_repo": "repo",
    "parse_ident": "repo",
    "range_ends": "history",
    "read_blob": "objects",
    "ref_target": "objects",
    "ref_tips": "history",
    "resolve_ref": "repo",
    "rev_commit": "objects",
    "rev_list": "process",
    "run_status": "process",
    "run_git": "process",
    "signature_of": "objects",
    "stream_git": "process",
    "subtree": "objects",
    "tip": "objects",
    "update_worktree": "worktree",
    "worktree_state": "worktree",
    "write_blob": "objects",
    "write_lock": "worktree",
}

__all__ = [
    "BLOB_MODE",
    "TREE_MODE",
    "ZERO_OID",
    "Commit",
    "Feeder",
    "Repo",
    "Tree",
    "atomic_write",
    "blob_data",
    "build_tree",
    "cas_update_ref",
    "changed_blobs",
    "clear_stale_ref_locks",
    "commit_at",
    "commit_content",
    "config",
    "config_values",
    "create_commit",
    "creator_email",
    "descends_from",
    "dirty_paths",
    "entry",
    "first_adding",
    "format_ident",
    "get_commit",
    "hash_file",
    "head_branch",
    "head_branch_of_bare",
    "identities",
    "identity",
    "index_oid",
    "init_repo",
    "list_dir",
    "merge_base",
    "merge_blobs",
    "open_repo",
    "parse_ident",
    "range_ends",
    "read_blob",
    "ref_target",
    "ref_tips",
    "resolve_ref",
    "rev_commit",
    "rev_list",
    "run_git",
    "run_status",
    "signature_of",
    "stream_git",
    "subtree",
    "tip",
    "update_worktree",
    "worktree_state",
    "write_blob",
    "write_lock",
]


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
