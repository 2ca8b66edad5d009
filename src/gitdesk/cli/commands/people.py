"""people: who is on the desk."""

from __future__ import annotations

from pathlib import Path

import click

from gitdesk.actions import people as roster
from gitdesk.cli.common import desk_of, emit, format_option
from gitdesk.cli.output import render
from gitdesk.errors import UsageError


@click.group("people")
def people() -> None:
    """The people of the desk's policy."""


@people.command("list", epilog="Example:\n  gitdesk people list")
@format_option()
@click.pass_context
def list_people(ctx: click.Context, fmt: str) -> None:
    """People with their groups, and whether they can sign."""
    policy = desk_of(ctx).snapshot().policy
    records = [{"id": p.id, "name": p.name, "email": p.email,
                "groups": ", ".join(g.name for g in policy.groups.values() if p.id in g.members),
                "admin": p.id in policy.admins, "keys": len(p.keys)}
               for p in policy.people.values()]
    emit(render(records, ("id", "name", "email", "groups", "admin", "keys"), fmt))


@people.command("add", epilog="""\b
Examples:
  gitdesk people add gary --name "Gary Network" --email gary@example.org --group network
  gitdesk people add bob --name "Bob CAB" --email bob@example.org --group cab \\
      --key "$(cat bob_ed25519.pub)"
  gitdesk people add carol --name "Carol DBA" --email carol@example.org \\
      --key openpgp:0123456789ABCDEF0123456789ABCDEF01234567 --asc carol.asc""")
@click.argument("person")
@click.option("--name", required=True, help="Full name.")
@click.option("--email", help="The address git commits of this person carry.")
@click.option("--group", "groups", multiple=True, help="A group to join (repeatable).")
@click.option("--key", "keys", multiple=True,
              help="A signing key (repeatable): an SSH public key line TYPE BASE64 [COMMENT], "
                   "or openpgp:FINGERPRINT.")
@click.option("--asc", "asc_files", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The armored public key of an openpgp: key (repeatable); it is added as "
                   ".gitdesk/keys/FINGERPRINT.asc.")
@click.pass_context
def add(ctx: click.Context, person: str, name: str, email: str | None,
        groups: tuple[str, ...], keys: tuple[str, ...], asc_files: tuple[Path, ...]) -> None:
    """Add a person to the policy (a commit that a policy admin signs)."""
    written = roster.add_person(desk_of(ctx), person, name=name, email=email, groups=groups,
                                keys=keys, asc=tuple(_read(f) for f in asc_files))
    click.echo(written.change.subject, err=True)


@people.group("key", epilog="""\b
Examples:
  gitdesk people key add alice "$(cat ~/.ssh/id_ed25519.pub)"
  gitdesk people key remove bob "$(cat bob_old_ed25519.pub)"
""")
def key() -> None:
    """Add or remove a person's signing keys (each a commit that a policy admin signs)."""


@key.command("add", epilog="""\b
Examples:
  gitdesk people key add alice "$(cat ~/.ssh/id_ed25519.pub)"
  gitdesk people key add carol openpgp:0123456789ABCDEF0123456789ABCDEF01234567 \\
      --asc carol.asc
  # rotate: the old key (still trusted) signs the commit that replaces it
  gitdesk people key add alice "$(cat ~/.ssh/new_ed25519.pub)" \\
      --replace "$(cat ~/.ssh/id_ed25519.pub)"
  git config user.signingkey ~/.ssh/new_ed25519    # sign with the new key from now on""")
@click.argument("person")
@click.argument("key_text", metavar="KEY")
@click.option("--asc", "asc_file", metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="For an openpgp: KEY, its armored public key (added as "
                   ".gitdesk/keys/FINGERPRINT.asc).")
@click.option("--replace", metavar="OLDKEY",
              help="Remove this key of the person in the same commit (key rotation).")
@click.pass_context
def key_add(ctx: click.Context, person: str, key_text: str, asc_file: Path | None,
            replace: str | None) -> None:
    """Give a person a signing key: an SSH public key line or openpgp:FINGERPRINT."""
    written = roster.add_key(desk_of(ctx), person, key_text,
                             asc=_read(asc_file) if asc_file is not None else None,
                             replace=replace)
    click.echo(written.change.subject, err=True)


@key.command("remove", epilog="""\b
Examples:
  gitdesk people key remove bob "$(cat bob_old_ed25519.pub)"
  gitdesk people key remove carol openpgp:0123456789ABCDEF0123456789ABCDEF01234567""")
@click.argument("person")
@click.argument("key_text", metavar="KEY")
@click.option("--allow-unprotected", is_flag=True,
              help="Remove the last admin key anyway: the desk is then unprotected (changes to "
                   ".gitdesk/ are trusted on first use) until an admin has a key again.")
@click.pass_context
def key_remove(ctx: click.Context, person: str, key_text: str, allow_unprotected: bool) -> None:
    """Take a signing key from a person (refused for the last admin key)."""
    written = roster.remove_key(desk_of(ctx), person, key_text,
                                allow_unprotected=allow_unprotected)
    click.echo(written.change.subject, err=True)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--asc: cannot read {path}: {exc.strerror}") from exc


COMMANDS = [people]
