"""The scheduled weekly-report jobs in examples/ci/ parse and their commands work."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from support.cli import Gitdesk
from support.git import git

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "ci"


def _commands(lines: list[str]) -> list[list[str]]:
    """The gitdesk commands of a job's script, as argv lists (redirections kept apart)."""
    out = []
    for block in lines:
        for line in str(block).splitlines():
            line = line.split("|")[0].split(">>")[0].strip()
            if line.startswith("gitdesk report"):
                out.append(shlex.split(line))
    return out


def _github_commands() -> list[list[str]]:
    data = YAML(typ="safe").load((EXAMPLES / "github" / "gitdesk-weekly-report.yml").read_text())
    assert "schedule" in data["on"]
    steps = data["jobs"]["report"]["steps"]
    return _commands([step["run"] for step in steps if "run" in step])


def _gitlab_commands() -> list[list[str]]:
    path = EXAMPLES / "gitlab" / "gitdesk-weekly-report.gitlab-ci.yml"
    data = YAML(typ="safe").load(path.read_text())
    job = data["gitdesk-weekly-report"]
    assert job["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "schedule"'
    assert job["artifacts"]["paths"] == ["out/"]
    return _commands(job["script"])


def test_weekly_jobs_parse_and_ask_for_markdown_and_html() -> None:
    for commands in (_github_commands(), _gitlab_commands()):
        formats = {c[c.index("--format") + 1] for c in commands if "--format" in c}
        assert formats == {"markdown", "html"}
        assert any(c[:3] == ["gitdesk", "report", "weekly"] for c in commands)


@pytest.mark.slow
def test_weekly_job_commands_run_on_a_clone(desk: Gitdesk, tmp_path: Path,
                                            gitdesk_bin: str) -> None:
    tid = desk.open("incident", "-s", "Mail delayed", "--impact", "high", "--urgency", "high")
    desk.ok("resolve", tid, "--code", "fixed", "-m", "queue flushed")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(desk.path), str(clone))
    (clone / "out").mkdir()
    env = {**os.environ, "PATH": f"{Path(gitdesk_bin).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in _github_commands() + _gitlab_commands():
        result = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True,
                                check=False)
        assert result.returncode == 0, (command, result.stderr)
        if "-o" in command:
            html = (clone / command[command.index("-o") + 1]).read_text()
            assert html.startswith("<!DOCTYPE html>") and "<svg" in html
        elif "markdown" in command:
            assert "| opened | 1 |" in result.stdout
            assert "| resolved | 1 |" in result.stdout
