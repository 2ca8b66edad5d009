"""people: who is on the desk."""

from __future__ import annotations

import click

from gitdesk.actions import people as roster
from gitdesk.cli.common import desk_of, emit, format_option
from gitdesk.cli.output import render


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
Example:
  gitdesk people add gary --name "Gary Network" --email gary@example.org --group network""")
@click.argument("person")
@click.option("--name", required=True, help="Full name.")
@click.option("--email", help="The address git commits of this person carry.")
@click.option("--group", "groups", multiple=True, help="A group to join (repeatable).")
@click.option("--key", "keys", multiple=True,
              help="A signing key: an SSH public key line, or openpgp:FINGERPRINT.")
@click.pass_context
def add(ctx: click.Context, person: str, name: str, email: str | None,
        groups: tuple[str, ...], keys: tuple[str, ...]) -> None:
    """Add a person to the policy (a commit that a policy admin signs)."""
    written = roster.add_person(desk_of(ctx), person, name=name, email=email, groups=groups,
                                keys=keys)
    click.echo(written.change.subject, err=True)


COMMANDS = [people]
