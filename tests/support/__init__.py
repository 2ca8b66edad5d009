"""What the tests share, importable as `support.<module>` (tests/ is on pytest's
`pythonpath`). Fixtures stay in conftest.py (shared) or in the test module that
uses them; they call these helpers. No test module imports another, or conftest.

- `support.git`: isolation from the user's git setup, real programs, git itself.
- `support.cli`: the in-process `gitdesk` runner and checks on what it did.
- `support.signing`: SSH keys, and OpenPGP keys in a throw-away GNUPGHOME.
- `support.people`: people with keys, a staffed desk, hand commits, ready changes.
- `support.edits`: hand edits of YAML files, hand-made approvals.
- `support.server`: the installed script, bare repositories with the server
  hooks, free ports, `git daemon`.
"""

from __future__ import annotations

import pkgutil

import pytest

# Asserts in the helpers explain their operands the way asserts in test modules do.
pytest.register_assert_rewrite(*(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)))
