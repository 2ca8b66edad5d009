"""verify, hook, hooks install."""

from __future__ import annotations

import json
import sys

import click

from gitdesk import gitio
from gitdesk.errors import GitdeskError, UsageError, VerificationFailed
from gitdesk.verify import hooks as hooking
from gitdesk.verify import shims as hookscripts
from gitdesk.verify.commits import Finding, verify_range


def _print(findings: list[Finding], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps([f.record() for f in findings], indent=2, ensure_ascii=False))
        return
    for finding in findings:
        if fmt == "github":
            v = finding.violation
            text = f"{finding.commit[:10]}: {v.message}" + (f" (fix: {v.hint})" if v.hint else "")
            text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            click.echo(f"::error file={v.path},title=gitdesk {v.rule}::{text}")
        else:
            click.echo(finding.line())


@click.command("verify", epilog="""\b
Examples:
  gitdesk verify                        # the whole history of the desk's branch
  gitdesk verify origin/main..HEAD      # what a pull request adds
  gitdesk verify origin/main..HEAD --format github""")
@click.argument("revisions", nargs=-1, metavar="[REVRANGE]...")
@click.option("--format", "fmt", type=click.Choice(("text", "json", "github")), default="text",
              show_default=True)
@click.pass_context
def verify(ctx: click.Context, revisions: tuple[str, ...], fmt: str) -> None:
    """Check commits against the desk's rules and policy (exit 4 on a violation)."""
    obj = ctx.find_root().obj
    repo = gitio.open_repo(obj.repo)
    # CI checks out a detached HEAD: a range needs no branch, and without one the
    # desk's branch (or HEAD itself) is verified.
    if revisions:
        args = list(revisions)
    elif obj.branch or gitio.head_branch_of_bare(repo):
        args = [gitio.resolve_ref(repo, obj.branch)]
    else:
        args = ["HEAD"]
    count = len(gitio.rev_list(repo, args))
    findings = list(verify_range(repo, args))
    _print(findings, fmt)
    tip = _tip(args)
    if tip is not None and hookscripts.protection(repo, tip) == hookscripts.UNPROTECTED:
        click.echo(f"gitdesk: warning: at {tip}: {UNPROTECTED}", err=True)
    if findings:
        raise VerificationFailed(f"{len(findings)} violation(s) in {count} commit(s)")
    click.echo(f"gitdesk: verified {count} commit(s): all rules hold", err=True)


UNPROTECTED = ("no admin of the policy has a signing key: the desk is unprotected, anyone "
               "who can push may change .gitdesk/ unsigned; give an admin a key: gitdesk "
               "people key add ID KEY")


def _tip(args: list[str]) -> str | None:
    """The revision whose policy counts: the last one a range names (B of A..B)."""
    for arg in reversed(args):
        if arg.startswith(("-", "^")):
            continue
        right = arg.rpartition("..")[2] if ".." in arg else arg
        return right.lstrip(".") or "HEAD"
    return None


@click.command("hook", epilog="Example (the hooks/pre-receive shim runs this):\n\n"
                              "\b\n  gitdesk hook pre-receive")
@click.argument("name", type=click.Choice(("pre-receive", "update", "pre-commit")))
@click.argument("args", nargs=-1)
def hook(name: str, args: tuple[str, ...]) -> None:
    """Run a git hook's check (pre-receive, update, pre-commit)."""
    repo = gitio.open_repo(None)
    if name == "pre-commit":
        problems = hooking.check_staged(repo)
        for problem in problems:
            click.echo(f"gitdesk: {problem}", err=True)
        if problems:
            raise VerificationFailed("commit refused by the desk's rules")
        return
    if name == "update":
        if len(args) != 3:
            raise UsageError("the update hook takes REF OLD NEW")
        updates = [hooking.RefUpdate(args[1], args[2], args[0])]
    else:
        updates = hooking.parse_updates(sys.stdin.read().splitlines())
    protection = hooking.Protection.of(repo)
    with hooking.time_limit(protection.seconds):
        findings = [f for update in updates
                    for f in hooking.check_update(repo, update, protection)]
    for finding in findings:
        click.echo(f"gitdesk: rejected: {finding.line()}", err=True)
    if findings:
        raise VerificationFailed(f"push refused: {len(findings)} violation(s) of the desk's "
                                 "rules")
    for update in updates if name == "pre-receive" else []:  # once per push, not per ref
        if _unprotects(repo, update):
            click.echo(f"gitdesk: warning: after this push, on {update.ref}: {UNPROTECTED}",
                       err=True)


def _unprotects(repo: gitio.Repo, update: hooking.RefUpdate) -> bool:
    """Whether an update leaves a branch with an unprotected desk that was not so before."""
    if update.new == gitio.ZERO_OID or not update.ref.startswith("refs/heads/"):
        return False
    if hookscripts.protection(repo, update.new) != hookscripts.UNPROTECTED:
        return False
    return update.old == gitio.ZERO_OID or \
        hookscripts.protection(repo, update.old) != hookscripts.UNPROTECTED


@click.group("hooks")
def hooks() -> None:
    """Install the git hooks."""


@hooks.command("install", epilog="""\b
Examples:
  gitdesk hooks install                           # pre-commit in this clone
  gitdesk hooks install --server --repo /srv/git/it-desk.git
  gitdesk hooks install --server --repo /srv/git/lab.git --allow-unprotected
  gitdesk hooks install --server --repo /srv/git/it.git --protect refs/heads/main""")
@click.option("--server", is_flag=True, help="Install pre-receive and update (a server's bare "
                                             "repository).")
@click.option("--repo", "repo_path", metavar="PATH",
              help="The repository to install into (same as the global --repo).")
@click.option("--protect", "patterns", multiple=True, metavar="GLOB",
              help="Server: refs the hooks guard (repeatable; default every branch, "
                   "refs/heads/*).")
@click.option("--allow-tags", is_flag=True, help="Server: accept tag pushes (refused by "
                                                 "default).")
@click.option("--allow-unprotected", is_flag=True,
              help="Install the server hooks although no admin of the desk has a signing key "
                   "(then anyone who can push may change .gitdesk/).")
@click.pass_context
def install(ctx: click.Context, server: bool, repo_path: str | None,
            patterns: tuple[str, ...], allow_tags: bool, allow_unprotected: bool) -> None:
    """Install gitdesk's hook shims (an existing hook is kept as NAME.legacy).

    The server hooks are refused while no admin of the desk's policy has a signing
    key (the desk is then unprotected: changes to .gitdesk/ are trusted on first
    use), unless --allow-unprotected says that is what you want."""
    if (patterns or allow_tags) and not server:
        raise UsageError("--protect and --allow-tags set up the server hooks: add --server")
    obj = ctx.find_root().obj
    repo = gitio.open_repo(repo_path or obj.repo)
    ref = gitio.resolve_ref(repo, obj.branch) if obj.branch else None
    try:
        done = hookscripts.install(repo, server=server, ref=ref,
                                   allow_unprotected=allow_unprotected)
    except OSError as exc:
        raise GitdeskError(f"could not install hooks: {exc}") from exc
    for name in done:
        click.echo(f"installed {name}", err=True)
    if server:
        guarded = hooking.Protection(patterns or hooking.Protection.patterns, allow_tags)
        guarded.save(repo)
        click.echo(f"guarding {', '.join(guarded.patterns)}; tags "
                   f"{'accepted' if allow_tags else 'refused'}", err=True)
        state = hookscripts.protection(repo, ref)
        if state == hookscripts.NO_DESK:
            click.echo("gitdesk: warning: this repository holds no desk yet: the first push "
                       "that brings one sets its policy; push a desk whose admins have "
                       "keys (gitdesk people key add ID KEY)", err=True)
        elif state == hookscripts.UNPROTECTED:
            click.echo(f"gitdesk: warning: {UNPROTECTED}", err=True)


COMMANDS = [verify, hook, hooks]
