"""Reading a desk at a revision: its tickets by ID or prefix, each checked by the rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ruamel.yaml.comments import CommentedMap

from gitdesk import gitio
from gitdesk.domain import ids
from gitdesk.domain.config import DeskConfig
from gitdesk.domain.model import Ticket, ticket_path
from gitdesk.errors import InvalidFile, NotFound
from gitdesk.verify.files import check_file
from gitdesk.verify.tree import DeskTree
from gitdesk.yaml import roundtrip as yamlio


class Snapshot(DeskTree):
    """The desk as it is in one commit (or empty, before the first one), with its
    tickets: `ticket()` takes an ID or unique prefix. Its config and policy may come
    from the clone's cache (see verify.tree)."""

    def __init__(self, repo: gitio.Repo, commit: gitio.Commit | None) -> None:
        super().__init__(repo, commit, cached=True)

    def resolve(self, query: str) -> str:
        """A full ticket ID from an ID or unique prefix."""
        try:
            prefix, rest = ids.parse_query(query)
        except ValueError as exc:
            raise NotFound(str(exc)) from exc
        if prefix is not None and self.config.type_for_prefix(prefix) is None:
            known = ", ".join(f"{t.prefix} ({t.name})" for t in self.config.types.values())
            raise NotFound(f"no ticket type has the prefix {prefix}-", hint=f"prefixes: {known}")
        types = [t for t in self.config.types.values() if prefix in (None, t.prefix)]
        found = []
        for ticket_type in types:
            directory = f"tickets/{ticket_type.name}/{rest[:2]}"
            for name, _oid, is_tree in gitio.list_dir(self.repo, self.tree, directory):
                stem = name.removesuffix(".yaml")
                if not is_tree and name.endswith(".yaml") and \
                        stem.partition("-")[2].startswith(rest):
                    found.append(stem)
        if not found:
            raise NotFound(f"no ticket {query}")
        if len(found) > 1:
            raise NotFound(f"{query} is ambiguous; it matches: {', '.join(sorted(found))}",
                           hint="give more characters of the ID")
        return found[0]

    def path_of(self, ticket_id: str) -> str:
        prefix = ticket_id.partition("-")[0]
        ticket_type = self.config.type_for_prefix(prefix)
        if ticket_type is None:
            raise NotFound(f"no ticket type has the prefix {prefix}-")
        return ticket_path(ticket_type.name, ticket_id)

    def ticket(self, query: str) -> Ticket:
        path = self.path_of(self.resolve(query))
        return self.load(path)

    def load(self, path: str) -> Ticket:
        data = self.read(path)
        if data is None:
            raise NotFound(f"no file {path}")
        root = yamlio.load(data, path)
        if not isinstance(root, CommentedMap):
            raise InvalidFile(path, ["a ticket file must be a YAML mapping"])
        problems = _file_problems(self.config, path, root)
        if problems:
            raise InvalidFile(path, problems,
                              hint="fix the file by hand (see `gitdesk doctor`); "
                                   "nothing was changed")
        return Ticket(root, path)

    def ticket_paths(self) -> Iterator[tuple[str, str]]:
        """(path, blob oid) of every ticket file, in path order."""
        for type_name, _o, is_tree in gitio.list_dir(self.repo, self.tree, "tickets"):
            if not is_tree:
                continue
            for shard, _o2, is_shard in gitio.list_dir(self.repo, self.tree,
                                                       f"tickets/{type_name}"):
                if not is_shard:
                    continue
                directory = f"tickets/{type_name}/{shard}"
                for name, oid, is_dir in gitio.list_dir(self.repo, self.tree, directory):
                    if not is_dir and name.endswith(".yaml"):
                        yield f"{directory}/{name}", oid



def _file_problems(config: DeskConfig, path: str, root: Any) -> list[str]:
    return [f"line {v.line}: {v.message}" if v.line else v.message
            for v in check_file(config, path, root)]


