"""Shared fixtures: real git repositories with isolated git configuration.

Every test runs with HOME, the global git config and the system git config
pointed away from the user's; a test that writes into HOME fails. The helpers
these fixtures call, and that the tests import, live in the `support` package.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import Gitdesk
from support.git import fsck, isolate
from support.people import Person, team
from support.signing import GnuPG, gnupg_home


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """HOME, global and system git config isolated; HOME must stay untouched."""
    home = isolate(monkeypatch, tmp_path_factory.mktemp("env"))
    yield home
    leftovers = sorted(p.name for p in home.iterdir())
    assert not leftovers, f"a test wrote into HOME: {leftovers}"


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Gitdesk]:
    """A fresh ITIL desk (a non-bare repository with the branch checked out)."""
    path = tmp_path / "desk"
    result = Gitdesk(tmp_path)("init", str(path))
    assert result.exit_code == 0, result.stderr
    gd = Gitdesk(path)
    yield gd
    fsck(path)


@pytest.fixture
def gitdesk_bin() -> str:
    found = shutil.which("gitdesk")
    assert found, "the gitdesk console script is not installed"
    return found


@pytest.fixture
def people(tmp_path: Path) -> dict[str, Person]:
    """alice, bob, carol and dave, each with a fresh SSH key (see support.people)."""
    return team(tmp_path)


@pytest.fixture
def gnupg(monkeypatch: pytest.MonkeyPatch) -> Iterator[GnuPG]:
    """gpg (and git's gpg) use a keyring of the test's own."""
    with gnupg_home() as keys:
        monkeypatch.setenv("GNUPGHOME", str(keys.home))
        yield keys
