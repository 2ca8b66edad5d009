"""Writing many commits at once: a batch commit writer, and landing its result.

The normal write path (store.Desk.commit) costs a few git processes per
commit, which is right for one action and far too slow for an import of
100,000+ back-dated events. This module is the bulk path:

- `BatchWriter` streams commits into one `git fast-import` process, which
  writes them into a single pack with trees and blobs delta-compressed against
  their previous versions, on a private temporary ref. Measured on this
  machine for the 1024-shard layout (tickets/incident/<2 chars>/...): pygit2
  writing loose objects made 240 commits/s and ~45 KB of objects per commit
  (each commit rewrites the ~30 KB shard-list tree); fast-import makes
  ~1,000 commits/s in its own process (in parallel with the Python side) and
  ~1.3 KB per commit. The branch is not touched while the batch is written.
- `land` moves the desk's branch once, by compare-and-swap under the gitdesk
  write lock, and brings a checked-out working tree and index along.

The caller writes the files (the importer uses yaml.emitter.TicketEmitter, which
writes what the round-trip codec would, fast) and is responsible for verifying
every change it streams (the importer runs verify.check_change on each one, in
process).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from gitdesk import gitio
from gitdesk.domain.clock import Identity
from gitdesk.errors import Conflict, GitdeskError


def _ident(ident: Identity) -> str:
    def clean(text: str) -> str:
        return "".join(ch for ch in text if ch not in "<>\n\r\0").strip() or "unknown"

    sign = "-" if ident.offset < 0 else "+"
    hours, minutes = divmod(abs(ident.offset), 60)
    return f"{clean(ident.name)} <{clean(ident.email)}> {ident.time} {sign}{hours:02d}{minutes:02d}"


class BatchWriter:
    """Commits streamed into one `git fast-import`, on a private temporary ref.

    The branch is not moved: `finish()` returns the last commit and removes
    the temporary ref; `land()` moves the branch. `abort()` (or an exception in
    a `with` block) leaves the branch untouched; the objects written so far
    are unreachable and `git gc` drops them.
    """

    def __init__(self, repo: gitio.Repo, parent: str | None) -> None:
        self.repo = repo
        self.parent = parent
        self.commits = 0
        self.ref = f"refs/gitdesk/batch/{os.getpid()}-{os.urandom(4).hex()}"
        self._proc = gitio.Feeder(repo, ["fast-import", "--quiet", "--done",
                                         "--date-format=raw"])

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is not None:
            self.abort()

    def commit(self, *, author: Identity, committer: Identity, message: str,
               files: Mapping[str, bytes | None]) -> None:
        """Append one commit: the previous one (or the parent) plus these file changes."""
        msg = message.encode("utf-8")
        head = (f"commit {self.ref}\nauthor {_ident(author)}\ncommitter {_ident(committer)}\n"
                f"data {len(msg)}\n").encode()
        parts = [head, msg, b"\n"]
        if self.commits == 0 and self.parent is not None:
            parts.append(f"from {self.parent}\n".encode("ascii"))
        for path, data in files.items():
            if "\n" in path or path.startswith("/"):
                raise GitdeskError(f"batch: bad path {path!r}")
            if data is None:
                parts.append(f"D {path}\n".encode())
            else:
                parts.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode())
                parts.append(data)
                parts.append(b"\n")
        try:
            self._proc.write(b"".join(parts))
        except BrokenPipeError as exc:
            raise GitdeskError(f"git fast-import stopped: {self._stderr()}") from exc
        self.commits += 1

    def finish(self) -> str | None:
        """Wait for fast-import; the last commit written (None if there was none)."""
        with contextlib.suppress(BrokenPipeError):
            self._proc.write(b"done\n")
        code = self._proc.close()
        if code != 0:
            self._drop_ref()
            message = self._stderr()
            self._proc.release()
            raise GitdeskError(f"git fast-import failed (exit {code}): {message}",
                               hint="nothing was changed on the branch")
        self._proc.release()
        if self.commits == 0:
            return None
        oid = gitio.ref_target(self.repo, self.ref)
        if oid is None:
            raise GitdeskError("git fast-import wrote no commit")
        self._drop_ref()
        return oid

    def abort(self) -> None:
        self._proc.kill()
        self._drop_ref()
        self._proc.release()

    def _drop_ref(self) -> None:
        gitio.run_git(self.repo, ["update-ref", "-d", self.ref], check=False)

    def _stderr(self) -> str:
        return self._proc.messages()


def land(repo: gitio.Repo, ref: str, new: str, old: str | None, message: str, *,
         checked_out: bool) -> str | None:
    """Move ref from old to new (compare-and-swap, under the write lock), once.

    When the branch is checked out, the working tree and index follow (a
    two-tree `git read-tree -m -u`, which keeps unrelated local edits). Returns
    a warning when the working tree could not be brought along.
    """
    with gitio.write_lock(repo):
        if not gitio.cas_update_ref(repo, ref, new, old, message):
            raise Conflict(f"{ref} moved while the batch was being written; nothing was changed",
                           hint="run the command again")
        if not checked_out:
            return None
        args = ["read-tree", "-m", "-u", old, new] if old else ["read-tree", "-u", new]
        try:
            gitio.run_git(repo, args)
        except GitdeskError as exc:
            return (f"{ref} moved to {new[:10]}, but the working tree was not updated: "
                    f"{exc.message}; bring it along with `git checkout HEAD -- .`")
    return None
