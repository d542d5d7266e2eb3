"""The container image: built from ./Dockerfile with podman, run as non-root, gating for real.

The harness (scripts/container.sh) builds offline: a debootstrap stand-in tagged as the
official python slim image, pip's settings passed in as build secrets. Where podman cannot
run, the tests are skipped with the harness's reason (under CI they fail instead).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.ship.conftest import REPO, gate_workdir, stack_env, start_stack
from warmer import __version__
from warmer.demo.scenarios import DemoStack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

HARNESS = REPO / "scripts" / "container.sh"
IMAGE = "localhost/warmer:test"
USER_ID = 10001
"""The image's non-root user (Dockerfile: useradd --uid)."""


def harness(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HARNESS), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def podman(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``podman ARGS`` with the harness's configuration and storage."""
    return harness("podman", *args, timeout=timeout)


@pytest.fixture(scope="module")
def image() -> str:
    """The image built from the working tree (layers cached between runs)."""
    check = harness("check")
    if check.returncode != 0:
        reason = f"podman cannot run here: {check.stdout.strip() or check.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    build = harness("build", IMAGE, timeout=1500)
    assert build.returncode == 0, (build.stdout + build.stderr)[-4000:]
    return IMAGE


def test_runs_as_non_root_and_reports_its_version(image: str) -> None:
    version = podman("run", "--rm", image, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"warmer, version {__version__}"
    whoami = podman("run", "--rm", "--entrypoint", "id", image)
    assert whoami.stdout.startswith(f"uid={USER_ID}(warmer) gid={USER_ID}(warmer)"), whoami
    config = json.loads(podman("image", "inspect", image).stdout)[0]["Config"]
    assert config["Entrypoint"] == ["warmer"] and config["WorkingDir"] == "/work"


def test_extensions_are_compiled_and_no_compiler_is_left(image: str) -> None:
    imports = "import warmer.observe.parsers._cache_status_c, warmer.sample.formats._tokenize_c"
    compiled = podman("run", "--rm", "--entrypoint", "python", image, "-I", "-c", imports)
    assert compiled.returncode == 0, compiled.stderr
    compilers = podman("run", "--rm", "--entrypoint", "sh", image, "-c", "command -v gcc cc")
    assert compilers.returncode != 0 and compilers.stdout == ""


def gate_in_container(
    image: str, stack: DemoStack, workdir: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = [f"--env={name}={value}" for name, value in stack_env(stack).items()]
    return podman(
        "run", "--rm", "--network", "host", "--volume", f"{workdir}:/work", *env,
        image, "gate", *args,
    )  # fmt: skip


def test_gate_in_the_container_gates_the_candidate_on_the_host(
    image: str, tmp_path: Path, example_sample: Path
) -> None:
    workdir = gate_workdir(tmp_path / "work", example_sample)
    os.chown(workdir, USER_ID, USER_ID)  # the image's user writes the run directory here
    with start_stack("healthy", tmp_path / "stack") as stack:
        passed = gate_in_container(image, stack, workdir, "--run-dir", "warmer-runs/pass")
        failed = gate_in_container(
            image, stack, workdir, "--run-dir", "warmer-runs/fail", "--check", "l2.keys < 1"
        )
    assert passed.returncode == 0, passed.stderr
    assert "verdict: PASS" in passed.stderr
    run_dir = workdir / "warmer-runs" / "pass"
    assert passed.stdout.strip() == "warmer-runs/pass"
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "pass" and report["exit_code"] == 0
    assert {c["metric"] for c in report["checks"]} >= {"hit_rate.l0", "backend.offload"}
    assert (run_dir / "report.md").read_text().startswith("## warmer gate: **PASS**")
    assert (run_dir / "junit.xml").read_text().count("<testcase") == len(report["checks"])
    assert (run_dir / "report.html").stat().st_uid == USER_ID
    assert failed.returncode == 1, failed.stderr
    assert "FAIL    l2.keys < 1" in failed.stderr


def test_demo_runs_in_the_container(image: str) -> None:
    demo = podman("run", "--rm", image, "demo", timeout=600)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "verdict: PASS" in demo.stderr
