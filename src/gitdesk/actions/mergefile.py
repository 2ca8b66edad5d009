"""`gitdesk merge-file BASE OURS THEIRS PATH`: git's merge driver for ticket files.

git runs it for every ticket file both sides changed (merge, pull, rebase,
cherry-pick): it writes the merged ticket into OURS and exits 0, so a ticket
never holds conflict markers. It makes the same merge as `gitdesk sync`
(domain.merge), from the same inputs. A merge touching 500 tickets runs it 500
times, so it imports the merge, the YAML reader and the writer and nothing else;
the repository is asked (through git) who changed what only when both sides
changed the same value and the winner must be chosen.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from gitdesk.domain.config import CONFIG_PATH, DeskConfig, build_config
from gitdesk.domain.merge import Merged, Side, merge_ticket
from gitdesk.domain.schema import cache_name
from gitdesk.errors import GitdeskError
from gitdesk.yaml.emitter import dump_ticket
from gitdesk.yaml.ticket import parse_blob

# The refs that may name the other side (cherry-pick, rebase, revert), after GITHEAD_*.
THEIRS = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REBASE_HEAD", "REVERT_HEAD")


def merge_file(base: Path, ours: Path, theirs: Path, name: str, *,
               top: Path | None = None) -> str | None:
    """Merge the three versions into `ours`; None when done, else why not (git then
    marks the path as conflicted and leaves `ours` as it was)."""
    top = top or Path.cwd()
    versions = [_read(path, name) for path in (base, ours, theirs)]
    if versions[1] is None or versions[2] is None:
        return f"{name}: a side is not a ticket gitdesk can read; merge it by hand"
    config = desk_config(top)
    merged = merge_ticket(config, versions[0], Side(versions[1]), Side(versions[2]))
    if merged.conflicts:  # a winner had to be chosen: by the sides' last commits
        ours_side, theirs_side = _sides(top, name)
        merged = merge_ticket(config, versions[0], Side(versions[1], *ours_side),
                              Side(versions[2], *theirs_side))
    if merged.collision:
        return (f"{name}: both sides opened a ticket with this ID (different uid); "
                "`git merge --abort`, then `gitdesk sync`, which gives yours a new ID")
    _write(ours, _dump(merged), ours.stat().st_mode & 0o7777)
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: gitdesk merge-file BASE OURS THEIRS PATH (git's %O %A %B %P)",
              file=sys.stderr)
        return 2
    try:
        problem = merge_file(Path(argv[0]), Path(argv[1]), Path(argv[2]), argv[3])
    except GitdeskError as exc:
        problem = str(exc)
    if problem:
        print(f"gitdesk merge-file: {problem}", file=sys.stderr)
        return 1
    return 0


def _read(path: Path, name: str) -> dict[str, Any] | None:
    data = path.read_bytes()
    if not data.strip():
        return None  # git passes an empty file for a side (or base) without the file
    return parse_blob(data, name)


def _dump(merged: Merged) -> bytes:
    assert merged.data is not None
    return dump_ticket(merged.data)


def _write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace path in one step; with `mode`, the new file gets it (else mkstemp's
    0600). gitio.worktree.atomic_write does this for the other commands; the driver
    does not load pygit2, which that module needs."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def git_dir(top: Path) -> Path:
    dot = top / ".git"
    if dot.is_file():  # a linked worktree or submodule: "gitdir: PATH"
        target = dot.read_text("utf-8").strip().removeprefix("gitdir:").strip()
        return (top / target).resolve()
    return dot


def desk_config(top: Path) -> DeskConfig:
    """The desk's config as the working tree has it, through the clone's cache (the
    merge is a convenience the verifier checks again, so the cache may serve it)."""
    data = (top / CONFIG_PATH).read_bytes() if (top / CONFIG_PATH).exists() else None
    if data is None:
        from gitdesk import gitio  # no working-tree copy: ask git (rare)

        data = gitio.run_git(None, ["show", f"HEAD:{CONFIG_PATH}"])
    oid = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    cache = git_dir(top) / "gitdesk" / "cache" / cache_name("config", oid)
    try:
        raw: dict[str, Any] = json.loads(cache.read_text("utf-8"))
    except (OSError, ValueError):
        from gitdesk.verify.configs import config_raw  # parsing once, then the cache

        raw = config_raw(data)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            _write(cache, json.dumps(raw, ensure_ascii=False).encode("utf-8"))
        except OSError:
            pass
    return build_config(raw)


def _sides(top: Path, name: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(author time, author, commit) of the last commit on each side that changed the
    file since the merge base; unknown (0, "", "") outside a merge."""
    from gitdesk.gitio import remote  # git, only when a winner must be chosen

    # git names the commit being merged in GITHEAD_<id> while it runs the driver (it
    # writes MERGE_HEAD only afterwards); a cherry-pick or rebase has the refs
    named = tuple(key.removeprefix("GITHEAD_") for key in sorted(os.environ)
                  if key.startswith("GITHEAD_"))
    return remote.sides_of((*named, *THEIRS), name)
