"""examples/ci/: the GitHub workflow and the GitLab job parse, and their commands work.

The `gitdesk verify ...` lines they run are executed with bash against a local
clone of a desk (a bare repository standing in for the forge), with the CI
variables substituted: a clean pull request passes (exit 0), one with a hand-made
approval fails (exit 4) with annotations. CI runners check out a detached HEAD
(GitHub: the PR's merge commit; GitLab: $CI_COMMIT_SHA), so that is tried too.

Also: `gitdesk verify` passes over the whole history of the `gitdesk demo` desk.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from support.cli import Gitdesk
from support.edits import edit_yaml, hand_approve
from support.git import run
from support.people import Desk, commit, ready_change, staffed_desk, team
from support.server import GITDESK

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "ci"
GITHUB = EXAMPLES / "github" / "gitdesk-verify.yml"
GITLAB = EXAMPLES / "gitlab" / "gitdesk-verify.gitlab-ci.yml"


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def github_verify_step() -> dict[str, Any]:
    steps = load(GITHUB)["jobs"]["verify"]["steps"]
    found = [s for s in steps if "gitdesk verify" in str(s.get("run", ""))]
    assert len(found) == 1
    return dict(found[0])


def gitlab_commands() -> list[str]:
    """The job's script without `pip install` (gitdesk is installed here already)."""
    script = load(GITLAB)["gitdesk-verify"]["script"]
    assert script[0] == "pip install gitdesk"
    return [str(line) for line in script[1:]]


def test_github_workflow_parses() -> None:
    workflow = load(GITHUB)
    assert set(workflow) == {"name", "on", "jobs"}
    assert "pull_request" in workflow["on"]
    assert workflow["on"]["push"]["branches"] == ["main"]
    steps = workflow["jobs"]["verify"]["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the whole history: BASE must be there
    step = github_verify_step()
    assert step["run"] == 'gitdesk verify "$BASE..HEAD" --format github'
    assert step["env"]["BASE"] == \
        "${{ github.event.pull_request.base.sha || github.event.before }}"


def test_gitlab_job_parses() -> None:
    job = load(GITLAB)["gitdesk-verify"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert job["variables"]["GIT_DEPTH"] == "0"
    assert gitlab_commands() == [
        'git fetch origin "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"',
        'gitdesk verify "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME..HEAD"']


@dataclass
class Forge:
    """A bare repository (the forge), main pushed, and two pull-request branches."""

    url: str
    base: str  # main when the pull requests were opened
    good: str  # branch names
    bad: str
    tid_bad: str


@pytest.fixture
def forge(tmp_path: Path) -> Forge:
    people = team(tmp_path)
    bob = people["bob"]
    bare = tmp_path / "forge.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(bare)])
    url = f"file://{bare}"
    desk = staffed_desk(tmp_path / "alice", people)
    run(["git", "push", "-q", url, "main"], cwd=desk.path)
    base = desk.head()

    run(["git", "switch", "-q", "-c", "good"], cwd=desk.path)
    tid = ready_change(desk, people["dave"])
    desk.ok_as(bob, "approve", tid, "-m", "go")
    desk.ok_as(bob, "transition", tid, "scheduled")
    run(["git", "push", "-q", url, "good"], cwd=desk.path)

    run(["git", "switch", "-q", "-c", "bad", base], cwd=desk.path)
    tid_bad = ready_change(desk, bob)
    edit_yaml(desk.file(tid_bad), hand_approve("bob", "cab"))
    commit(desk.path, bob, f"{tid_bad}: approve", sign=False)
    run(["git", "push", "-q", url, "bad"], cwd=desk.path)
    return Forge(url, base, "good", "bad", tid_bad)


def ci_env(**variables: str) -> dict[str, str]:
    return {"PATH": f"{Path(GITDESK).parent}{os.pathsep}{os.environ['PATH']}", **variables}


def checkout(forge: Forge, path: Path, branch: str, *, detached: bool,
             merge: bool = False) -> Path:
    """A CI checkout of a pull request with the whole history: the PR's head on a branch,
    detached (GitLab), or GitHub's detached merge of the PR into main (refs/pull/N/merge)."""
    run(["git", "clone", "-q", forge.url, str(path)])
    if merge:
        run(["git", "checkout", "-q", "--detach", "origin/main"], cwd=path)
        run(["git", "merge", "-q", "--no-ff", "-m", f"Merge {branch} into main",
             f"origin/{branch}"], cwd=path)
    elif detached:
        run(["git", "checkout", "-q", "--detach", f"origin/{branch}"], cwd=path)
    else:
        run(["git", "checkout", "-q", "-B", branch, f"origin/{branch}"], cwd=path)
    return path


def run_github(path: Path, base: str) -> Any:
    step = github_verify_step()
    return run(["bash", "-e", "-c", step["run"]], cwd=path, env=ci_env(BASE=base), check=False)


def run_gitlab(path: Path, target: str = "main") -> Any:
    result = None
    for line in gitlab_commands():
        result = run(["bash", "-e", "-c", line], cwd=path,
                     env=ci_env(CI_MERGE_REQUEST_TARGET_BRANCH_NAME=target), check=False)
        if result.returncode != 0:
            break
    return result


def assert_github_verdicts(forge: Forge, tmp_path: Path, detached: bool) -> None:
    good = run_github(checkout(forge, tmp_path / "gh-good", forge.good, detached=detached,
                               merge=detached), forge.base)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout == ""
    count = 7 if detached else 6  # GitHub's merge commit on top of the PR's six
    assert f"verified {count} commit(s): all rules hold" in good.stderr
    bad = run_github(checkout(forge, tmp_path / "gh-bad", forge.bad, detached=detached,
                              merge=detached), forge.base)
    assert bad.returncode == 4, bad.stdout + bad.stderr
    tid = forge.tid_bad
    assert bad.stdout.startswith(f"::error file=tickets/change/{tid[4:6]}/{tid}.yaml,"
                                 f"title=gitdesk signature::")
    assert "is not trusted: the commit is not signed" in bad.stdout


def assert_gitlab_verdicts(forge: Forge, tmp_path: Path, detached: bool) -> None:
    good = run_gitlab(checkout(forge, tmp_path / "gl-good", forge.good, detached=detached))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "verified 6 commit(s): all rules hold" in good.stderr
    bad = run_gitlab(checkout(forge, tmp_path / "gl-bad", forge.bad, detached=detached))
    assert bad.returncode == 4, bad.stdout + bad.stderr
    assert f"{forge.tid_bad}: approval by bob is not trusted: the commit is not signed " \
           "[signature]" in bad.stdout


@pytest.mark.slow
def test_github_command_on_a_branch_checkout(forge: Forge, tmp_path: Path) -> None:
    assert_github_verdicts(forge, tmp_path, detached=False)


@pytest.mark.slow
def test_gitlab_commands_on_a_branch_checkout(forge: Forge, tmp_path: Path) -> None:
    assert_gitlab_verdicts(forge, tmp_path, detached=False)


@pytest.mark.slow
def test_github_command_on_a_detached_checkout_as_actions_checkout_makes(
        forge: Forge, tmp_path: Path) -> None:
    assert_github_verdicts(forge, tmp_path, detached=True)


@pytest.mark.slow
def test_gitlab_commands_on_a_detached_checkout_as_the_runner_makes(
        forge: Forge, tmp_path: Path) -> None:
    assert_gitlab_verdicts(forge, tmp_path, detached=True)


@pytest.mark.slow
def test_github_push_to_main_checks_what_the_push_added(forge: Forge, tmp_path: Path) -> None:
    """On push, BASE is github.event.before: the main the push started from."""
    work = checkout(forge, tmp_path / "maintainer", "main", detached=False)
    run(["git", "merge", "-q", "--no-ff", "-m", "Merge good", "origin/good"], cwd=work)
    run(["git", "push", "-q", "origin", "main"], cwd=work)
    ci = checkout(forge, tmp_path / "gh-push", "main", detached=False)
    result = run_github(ci, forge.base)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified 7 commit(s)" in result.stderr


@pytest.mark.slow
def test_demo_desk_history_verifies(tmp_path: Path) -> None:
    path = tmp_path / "demo"
    built = Gitdesk(tmp_path)("demo", str(path))
    assert built.exit_code == 0, built.stderr
    desk = Desk(path)
    commits = desk.commits()
    assert commits > 100
    result = desk("verify")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"verified {commits} commit(s): all rules hold" in result.stderr
    assert json.loads(desk("verify", "--format", "json").stdout) == []
