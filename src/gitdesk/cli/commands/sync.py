"""sync, merge-file and conflicts: many clones, one desk."""

from __future__ import annotations

import sys

import click

from gitdesk.actions import conflicts as settling
from gitdesk.actions import sync as syncing
from gitdesk.cli.common import desk_of, emit
from gitdesk.errors import UsageError


@click.command("sync", epilog="""\b
Examples:
  gitdesk sync                     # origin, the desk's branch
  gitdesk sync upstream --branch desk""")
@click.argument("remote", default="origin")
@click.option("--branch", "branch", metavar="B",
              help="The branch to sync (default: the desk's, see the global --branch).")
@click.pass_context
def sync(ctx: click.Context, remote: str, branch: str | None) -> None:
    """Fetch, merge tickets, verify, push (again if the remote moved meanwhile).

    Exit codes: 0 in sync; 1 the merge breaks a rule or needs a person (nothing
    changed); 3 the remote cannot be reached or kept moving (a retry may clear it);
    4 the remote's hook refused the push."""
    if branch is not None:
        ctx.find_root().obj.branch = branch
    done = syncing.sync(desk_of(ctx), remote)
    for message in done.messages:
        click.echo(f"gitdesk: {message}", err=True)
    for old, new in done.renumbered:
        click.echo(f"gitdesk: {old} is also a ticket on {remote}: yours is now {new}",
                   err=True)
    if done.conflicts:
        click.echo(f"gitdesk: {len(done.conflicts)} ticket(s) kept a value of each side "
                   f"in conflicts: {', '.join(done.conflicts)} (gitdesk list --conflicts)",
                   err=True)
    what = "merged" if done.merged or done.renumbered else \
        "fast-forwarded" if done.fast_forward else "pushed" if done.pushed else "up to date"
    emit(f"{what}: {done.branch} and {remote}/{done.branch}"
         + (f" ({len(done.merged)} ticket(s) merged)" if done.merged else "") + "\n")


@click.command("merge-file", epilog="""\b
Example (git runs it; set it up in a clone with gitdesk doctor --fix):
  git config merge.gitdesk.driver 'gitdesk merge-file %O %A %B %P'""")
@click.argument("paths", nargs=4, metavar="BASE OURS THEIRS PATH")
def merge_file(paths: tuple[str, str, str, str]) -> None:
    """git's merge driver for ticket files (%O %A %B %P): writes the merge into OURS."""
    from gitdesk.actions.mergefile import main

    code = main(list(paths))
    if code:
        sys.exit(code)


@click.group("conflicts")
def conflicts() -> None:
    """Settle what a merge kept of both sides (see `gitdesk list --conflicts`)."""


@conflicts.command("resolve", epilog="""\b
Examples:
  gitdesk conflicts resolve INC-7Q2K impact               # keep what the merge kept
  gitdesk conflicts resolve INC-7Q2K impact --take high   # take another value""")
@click.argument("ticket")
@click.argument("field")
@click.option("--take", metavar="VALUE", help="The value to keep (default: the current one).")
@click.pass_context
def resolve(ctx: click.Context, ticket: str, field: str, take: str | None) -> None:
    """Settle a ticket's conflict on FIELD (one commit)."""
    if not field.strip():
        raise UsageError("FIELD is empty")
    settling.resolve(desk_of(ctx), ticket, field, take=take)


COMMANDS = [sync, merge_file, conflicts]
