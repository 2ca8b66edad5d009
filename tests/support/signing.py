"""Signing keys made for a test: SSH keys (ssh-keygen), OpenPGP keys in a GNUPGHOME
of their own, so no test touches the user's keys or agent."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.git import run


def ssh_key(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@example.org",
         "-f", str(path)])
    return path


@dataclass
class GnuPG:
    home: Path

    @property
    def env(self) -> dict[str, str]:
        return {"GNUPGHOME": str(self.home)}

    def new_key(self, person: str) -> str:
        """An unprotected ed25519 signing key; returns its fingerprint."""
        params = self.home / f"{person}.params"
        params.write_text(f"%no-protection\nKey-Type: eddsa\nKey-Curve: ed25519\n"
                          f"Key-Usage: sign\nName-Real: {person.capitalize()}\n"
                          f"Name-Email: {person}@example.org\nExpire-Date: 0\n%commit\n")
        run(["gpg", "--batch", "--gen-key", str(params)], env=self.env)
        listing = run(["gpg", "--batch", "--with-colons", "--fingerprint",
                       f"<{person}@example.org>"], env=self.env).stdout
        return next(line.split(":")[9] for line in listing.splitlines()
                    if line.startswith("fpr:"))

    def export(self, fingerprint: str) -> str:
        return run(["gpg", "--batch", "--armor", "--export", fingerprint], env=self.env).stdout


@contextmanager
def gnupg_home() -> Iterator[GnuPG]:
    """A throw-away GNUPGHOME (short path: gpg-agent's socket must fit), agent killed after."""
    home = Path(tempfile.mkdtemp(prefix="gd-gpg-"))
    home.chmod(0o700)
    try:
        yield GnuPG(home)
    finally:
        run(["gpgconf", "--kill", "all"], env={"GNUPGHOME": str(home)}, check=False)
        shutil.rmtree(home, ignore_errors=True)
