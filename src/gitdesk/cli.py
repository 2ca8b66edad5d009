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


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
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
    from gitdesk.commands import doctor, history, links, setup, tickets, transitions

    for module in (setup, tickets, transitions, links, history, doctor):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the CLI; map every failure to a message and an exit code."""
    try:
        cli.main(args=argv, prog_name="gitdesk", standalone_mode=False)
    except GitdeskError as exc:
        click.echo(f"gitdesk: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("gitdesk: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("gitdesk: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("GITDESK_DEBUG"):
            raise
        click.echo(f"gitdesk: internal error: {type(exc).__name__}: {exc}\n"
                   "hint: rerun with GITDESK_DEBUG=1 for details", err=True)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
