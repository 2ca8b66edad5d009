"""The command line: a root group, global options and errors mapped to exit codes."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from gitdesk import __version__
from gitdesk.errors import GitdeskError

EPILOG = """\b
Examples:
  gitdesk init desk && cd desk
  id=$(gitdesk open incident -s "Web server down" --impact high --urgency high)
  gitdesk note "$id" -m "Restarted httpd"
  gitdesk list --open
"""


class Context:
    def __init__(self, repo: str | None, branch: str | None) -> None:
        self.repo = repo
        self.branch = branch


class GitdeskGroup(click.Group):
    """The root group: every failure becomes a message and an exit code, here."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GitdeskError as exc:
            click.echo(f"gitdesk: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("gitdesk: interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            ctx.exit(1)
        except Exception as exc:
            if os.environ.get("GITDESK_DEBUG"):
                raise
            click.echo(f"gitdesk: internal error: {type(exc).__name__}: {exc}\n"
                       "hint: rerun with GITDESK_DEBUG=1 for details", err=True)
            ctx.exit(1)


@click.group(cls=GitdeskGroup, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--repo", metavar="PATH", envvar="GITDESK_REPO",
              help="The desk repository (default: the one around the current directory).")
@click.option("--branch", metavar="NAME", envvar="GITDESK_BRANCH",
              help="The branch that holds the desk (default: HEAD's branch).")
@click.version_option(__version__, prog_name="gitdesk")
@click.pass_context
def cli(ctx: click.Context, repo: str | None, branch: str | None) -> None:
    """gitdesk: an ITIL service desk whose database is a git repository."""
    ctx.obj = Context(repo, branch)


def _register() -> None:
    from gitdesk.commands import (
        approvals,
        doctor,
        history,
        hooks,
        itil,
        links,
        setup,
        tickets,
        transitions,
    )

    for module in (setup, tickets, transitions, links, history, itil, approvals, hooks, doctor):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point (gitdesk and git-desk)."""
    try:
        cli.main(prog_name="gitdesk")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)


if __name__ == "__main__":
    main()
