"""The warmer command of every example, run as its platform runs it, gates the reference
candidate: exit code, reports, and what the platform picks up (job summary, JUnit, artifact).

Substitutions are those of tests/ship/manifests.py: expressions, in-cluster URLs and mount
paths. Everything else (flags, variables, config, working directory) is the example's own.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.ship.conftest import REPO, gate_workdir, stack_env, start_stack
from tests.ship.manifests import (
    EXAMPLES,
    argo_args,
    bash,
    container_env,
    documents,
    find,
    github_expressions,
    local_paths,
    mount_volumes,
    run_container,
    to_candidate,
)
from warmer.demo.scenarios import DemoStack

pytestmark = pytest.mark.slow

L2_SECRET = ("warmer", "l2-redis-url")
BUILT_IN = ("warm.skipped.rate <= 5%", "skipped.rate <= 5%")
"""The checks every gate adds (gate.max_skip_rate) after the configured ones."""
"""The Kubernetes secret the examples read the L2 Redis URL from."""


def runs_warmer(command: str) -> bool:
    """Whether a step or script line runs warmer (installing it does not count)."""
    return "warmer " in command and "pip install" not in command


def only_run(directory: Path) -> Path:
    """The one run directory a gate wrote under ``directory``."""
    (run_dir,) = [p for p in directory.iterdir() if p.is_dir()]
    return run_dir


def verdict(run_dir: Path) -> str:
    report: dict[str, Any] = json.loads((run_dir / "report.json").read_text())
    return str(report["verdict"])


@pytest.mark.parametrize(("scenario", "code"), [("healthy", 0), ("undersized-l0", 1)])
def test_github_workflow(tmp_path: Path, example_sample: Path, scenario: str, code: int) -> None:
    workflow = documents(EXAMPLES / "github-actions" / "warmup-gate.yml")[0]
    job = workflow["jobs"]["gate"]
    steps = job["steps"]
    assert any(s.get("uses", "").startswith("actions/checkout@") for s in steps)
    assert any("pip install" in s.get("run", "") and "warmer" in s["run"] for s in steps)
    (gate,) = [s for s in steps if runs_warmer(s.get("run", ""))]
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    workdir = gate_workdir(tmp_path / "checkout", example_sample)
    summary = tmp_path / "step_summary.md"
    with start_stack(scenario, tmp_path / "stack") as stack:
        values = {
            "inputs.candidate-url": stack.target,
            "secrets.L2_REDIS_URL": stack.l2.url,
        }
        env = {k: github_expressions(str(v), values) for k, v in job["env"].items()}
        result = bash(gate["run"], workdir, {**env, "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == code, result.stderr
    # The artifact step runs whatever the verdict and uploads what the gate wrote.
    assert upload["if"] == "always()"
    run_dir = workdir / upload["with"]["path"]
    assert verdict(run_dir) == ("pass" if code == 0 else "fail")
    label = "PASS" if code == 0 else "FAIL"
    assert summary.read_text().startswith(f"## warmer gate: **{label}**")


def test_gitlab_job(tmp_path: Path, example_sample: Path, healthy_stack: DemoStack) -> None:
    job = documents(EXAMPLES / "gitlab-ci" / "gitlab-ci.yml")[0]["warmup-gate"]
    assert any("pip install" in line and "warmer" in line for line in job["script"])
    script = "\n".join(line for line in job["script"] if runs_warmer(line))
    workdir = gate_workdir(tmp_path / "project", example_sample)
    variables = {k: to_candidate(str(v), healthy_stack.target) for k, v in job["variables"].items()}
    # L2_REDIS_URL is a masked project variable: GitLab puts it in the environment.
    env = {**variables, "L2_REDIS_URL": healthy_stack.l2.url}
    result = bash(script, workdir, env)
    assert result.returncode == 0, result.stderr
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert all((workdir / path).is_dir() for path in artifacts["paths"])
    junit = (workdir / artifacts["reports"]["junit"]).read_text()
    checks = tomllib.loads((EXAMPLES / "warmer.toml").read_text())["gate"]["checks"]
    # One test case per check: the example's, then the gate's two built-in skip checks.
    assert junit.count("<testcase") == len(checks) + len(BUILT_IN) and "<failure" not in junit


def sample_volume(root: Path, sample: Path) -> None:
    """The data volume as the examples expect it: the sample, nothing else."""
    (root / "data").mkdir(parents=True)
    shutil.copy(sample, root / "data" / "traffic.jsonl.gz")


def test_kubernetes_job(tmp_path: Path, example_sample: Path, healthy_stack: DemoStack) -> None:
    job = find("Job", "warmer-gate")
    assert job["spec"]["backoffLimit"] == 0
    sample_volume(tmp_path, example_sample)
    secrets = {L2_SECRET: healthy_stack.l2.url}
    pod = job["spec"]["template"]["spec"]
    result = run_container(pod, tmp_path, secrets, lambda s: to_candidate(s, healthy_stack.target))
    assert result.returncode == 0, result.stderr
    assert "verdict: PASS" in result.stderr
    assert verdict(only_run(tmp_path / "data" / "warmer-runs")) == "pass"


def test_argo_rollouts_analysis(
    tmp_path: Path, example_sample: Path, healthy_stack: DemoStack
) -> None:
    rollout = find("Rollout")
    analysis = rollout["spec"]["strategy"]["blueGreen"]["prePromotionAnalysis"]
    args = {arg["name"]: arg["value"] for arg in analysis["args"]}
    (ref,) = analysis["templates"]
    template = find("AnalysisTemplate", ref["templateName"])
    (metric,) = template["spec"]["metrics"]
    pod = metric["provider"]["job"]["spec"]["template"]["spec"]
    sample_volume(tmp_path, example_sample)
    secrets = {L2_SECRET: healthy_stack.l2.url}

    def edit(text: str) -> str:
        return to_candidate(argo_args(text, args), healthy_stack.target)

    result = run_container(pod, tmp_path, secrets, edit)
    assert result.returncode == 0, result.stderr  # the Job succeeds: the analysis passes
    assert verdict(only_run(tmp_path / "data" / "warmer-runs")) == "pass"


def test_flagger_pre_rollout_webhook(
    tmp_path: Path, example_sample: Path, healthy_stack: DemoStack
) -> None:
    (hook,) = [h for h in find("Canary")["spec"]["analysis"]["webhooks"]]
    assert hook["type"] == "pre-rollout" and hook["metadata"]["type"] == "bash"
    service = hook["url"].split("//", 1)[1].split(".", 1)[0]
    pod = find("Deployment", service)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    sample_volume(tmp_path, example_sample)
    mounts = mount_volumes(pod, container, tmp_path)
    env = container_env(container, {L2_SECRET: healthy_stack.l2.url}, str)
    command = local_paths(to_candidate(hook["metadata"]["cmd"], healthy_stack.target), mounts)
    # The load tester runs `bash -c CMD` in its working directory, the image's /work.
    result = bash(command, mounts["/work"], env)
    assert result.returncode == 0, result.stderr
    assert verdict(only_run(tmp_path / "data" / "warmer-runs")) == "pass"


@pytest.mark.parametrize(
    ("checks", "code"), [("errors.rate < 1%\n\nlatency.p99_ms <= 10 s\n", 0), ("l2.keys < 1", 1)]
)
def test_composite_action(
    tmp_path: Path, example_sample: Path, healthy_stack: DemoStack, checks: str, code: int
) -> None:
    action = documents(REPO / "action.yml")[0]
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    (install,) = [s for s in steps if "pip install" in s.get("run", "")]
    assert '"$GITHUB_ACTION_PATH"' in install["run"]
    (gate,) = [s for s in steps if s.get("id") == "gate"]
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert "always()" in upload["if"]
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    shutil.copy(example_sample, workdir / "recorded.jsonl.gz")
    shutil.copy(EXAMPLES / "warmer.toml", workdir / "gate.toml")
    inputs = {
        "inputs.target": healthy_stack.target,
        "inputs.sample": "recorded.jsonl.gz",
        "inputs.config": "gate.toml",
        "inputs.checks": checks,
        "inputs.run-dir": "gate-run",
    }
    env = {k: github_expressions(str(v), inputs) for k, v in gate["env"].items()}
    output = tmp_path / "github_output"
    env |= {"GITHUB_OUTPUT": str(output), **stack_env(healthy_stack)}
    result = bash(gate["run"], workdir, env)
    assert result.returncode == code, result.stderr
    assert output.read_text() == "run-dir=gate-run\n"
    report = json.loads((workdir / "gate-run" / "report.json").read_text())
    expressions = [c["expression"] for c in report["checks"] if c["expression"] not in BUILT_IN]
    added = [line for line in checks.splitlines() if line]
    assert expressions[-len(added) :] == added and len(expressions) > len(added)
    assert report["sample"]["path"].endswith("recorded.jsonl.gz")
    assert report["target"] == healthy_stack.target
