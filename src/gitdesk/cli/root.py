"""The command line: a root group, global options and errors mapped to exit codes."""

from __future__ import annotations

import importlib
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


# Command name -> module in gitdesk.commands. Modules are imported only when
# one of their commands runs, so a command pays only for what it uses.
COMMAND_MODULES = {
    "init": "setup", "demo": "setup",
    "open": "tickets", "show": "tickets", "list": "tickets", "set": "tickets",
    "note": "tickets", "assign": "tickets",
    "transition": "transitions", "resolve": "transitions", "close": "transitions",
    "reopen": "transitions", "cancel": "transitions",
    "link": "links", "unlink": "links", "history": "history",
    "escalate": "itil", "ci": "itil", "catalog": "itil", "kedb": "itil", "problems": "itil",
    "changes": "itil", "risk": "itil",
    "approve": "approvals", "reject": "approvals", "notify": "approvals",
    "verify": "hooks", "hook": "hooks", "hooks": "hooks",
    "doctor": "doctor", "reindex": "reports", "report": "reports", "people": "people",
    "import": "importer",
    "sync": "sync", "merge-file": "sync", "conflicts": "sync",
}


class GitdeskGroup(click.Group):
    """The root group: loads commands lazily; every failure becomes a message and an
    exit code, here."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for arg in args:
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                raise click.UsageError(
                    f"argument {arg.encode('utf-8', 'replace').decode()!r} is not valid "
                    "UTF-8 (check the terminal's encoding)", ctx) from None
        return super().parse_args(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        try:
            module = importlib.import_module(f"gitdesk.cli.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gitdesk.cli.commands.{module_name}":
                raise
            return None
        for command in module.COMMANDS:
            if command.name == cmd_name:
                return command  # type: ignore[no-any-return]
        return None

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


def main() -> None:
    """Console-script entry point (gitdesk and git-desk)."""
    try:
        cli.main(prog_name="gitdesk")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)


if __name__ == "__main__":
    main()
