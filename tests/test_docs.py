"""The docs are tested: every command's help has an example, and the README's walk
through an incident runs as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gitdesk.cli.root import COMMAND_MODULES, cli
from support.cli import Gitdesk
from support.git import git

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    found = []
    for name in sorted(COMMAND_MODULES):
        command = cli.get_command(ctx, name)
        assert command is not None, f"{name} is listed but does not load"
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", command.commands[sub]) for sub in command.commands]
        else:
            found.append((name, command))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(), ids=lambda v: str(v).split()[0]
                         if isinstance(v, str) else "")
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert command.help or command.short_help, f"{name} has no help text"
    assert re.search(r"Examples?\b[^\n]*:", result.output), f"{name} --help shows no example"
    assert "gitdesk " in result.output.split("Example")[-1]


def _block(heading: str) -> str:
    text = README.read_text()
    section = text.split(f"## {heading}\n", 1)[1]
    return section.split("```\n", 2)[1]


@pytest.mark.slow
def test_the_readme_walk_through_runs_as_written(tmp_path: Path, gitdesk_bin: str) -> None:
    script = _block("Using it")
    env = {**os.environ, "PATH": f"{Path(gitdesk_bin).parent}{os.pathsep}{os.environ['PATH']}"}
    check = '\ngitdesk show "$id" --format json > ../shown.json\n'
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script + check],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    shown = json.loads((tmp_path / "shown.json").read_text())
    assert shown["status"] == "closed" and shown["assignee"] == "gary"
    assert shown["resolution_code"] == "workaround" and shown["priority"] == "critical"
    desk = tmp_path / "desk"
    # init, people add, open, assign, note, transition, resolve, close: one commit each
    assert git(desk, "rev-list", "--count", "HEAD").strip() == "8"
    assert "INC-" in done.stdout and "Restarted httpd" in done.stdout


def test_people_add_writes_one_policy_commit(desk: Gitdesk) -> None:
    desk.ok("people", "add", "gary", "--name", "Gary Network", "--email", "gary@example.org",
            "--group", "network")
    listed = json.loads(desk.ok("people", "list", "--format", "json"))
    gary = next(p for p in listed if p["id"] == "gary")
    assert gary["groups"] == "network" and gary["admin"] is False
    again = desk("people", "add", "gary", "--name", "Gary")
    assert again.exit_code == 1 and "already a person" in again.stderr
    bad = desk("people", "add", "zoe", "--name", "Zoe", "--group", "nowhere")
    assert bad.exit_code == 2 and "unknown group 'nowhere'" in bad.stderr
    assert desk.ok("verify") == ""


@pytest.mark.slow
def test_the_readme_many_clones_section_runs_as_written(tmp_path: Path,
                                                        gitdesk_bin: str) -> None:
    """The clone-and-sync block, against a local server, with a conflict to settle."""
    block = _block("Many clones, one desk")
    env = {**os.environ, "PATH": f"{Path(gitdesk_bin).parent}{os.pathsep}{os.environ['PATH']}"}
    setup = """
    git init -q --bare srv.git
    gitdesk init seed >/dev/null
    cd seed && git remote add origin ../srv.git
    tid=$(gitdesk open incident -s "Mail delayed" --ci web01)
    git push -q origin main && cd ..
    git clone -q srv.git other && (cd other && gitdesk doctor --fix 2>/dev/null)
    """
    script = block.replace("ssh://desk.example.org/srv/git/it-desk.git", "srv.git")
    script = script.replace("INC-7Q2K", "$tid")
    script = script.replace("(once)\n", "(once)\n(cd ../other && gitdesk set $tid ci=web03 "
                                        "&& gitdesk sync >/dev/null)\n")
    script = script.replace(
        'gitdesk note $tid -m "Looked at the queue"',
        'gitdesk note $tid -m "Looked at the queue" && gitdesk set $tid ci=web02')
    check = '\ngitdesk show "$tid" --format json > ../shown.json\n'
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", setup + script + check],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    shown = json.loads((tmp_path / "shown.json").read_text())
    assert shown["ci"] == "web02" and not shown.get("conflicts")
    assert shown["notes"][0]["text"] == "Looked at the queue"
