"""The command line: the only package that imports click."""

from __future__ import annotations

import sys


def main() -> None:
    """The console script. `gitdesk merge-file` (git runs it once per ticket file a
    merge touches) goes straight to the merge driver, without loading click and the
    command table; everything else goes through the root command group."""
    if sys.argv[1:2] == ["merge-file"] and "--help" not in sys.argv[2:]:
        from gitdesk.actions.mergefile import main as merge_file

        sys.exit(merge_file(sys.argv[2:]))
    from gitdesk.cli.root import main as root

    root()
