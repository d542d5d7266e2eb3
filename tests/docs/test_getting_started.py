"""docs/getting-started.md, executed: its five commands, in order, as written.

The page's ``sh`` blocks are the commands, its ``toml`` block is warmer.toml; the only
change is the port (8080 may be taken). A command ending in ``&`` runs in the background
until the end of the test, as it would in the reader's shell.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from warmer.demo.services import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[2]
PAGE = REPO / "docs" / "getting-started.md"
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    """The page's fenced blocks in ``language``, in order."""
    return [body for lang, body in _FENCE.findall(PAGE.read_text()) if lang == language]


def test_the_page_is_five_commands_and_one_config() -> None:
    commands = blocks("sh")
    assert len(commands) == 5 and all(len(c.strip().splitlines()) == 1 for c in commands)
    assert len(blocks("toml")) == 1


def shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def background() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a command left running in the background; stopped at the end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the background command exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing answered at {url}")


def test_the_commands_go_from_the_log_to_a_passing_gate(
    tmp_path: Path, background: list[subprocess.Popen[bytes]]
) -> None:
    port = str(free_port())
    (tmp_path / "traffic_samples").mkdir()
    shutil.copy(REPO / "traffic_samples" / "demo-access.log.gz", tmp_path / "traffic_samples")
    (tmp_path / "warmer.toml").write_text(blocks("toml")[0].replace("8080", port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARMER_")}
    env |= {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "NO_COLOR": "1"}
    outputs = []
    for command in (block.strip().replace("8080", port) for block in blocks("sh")):
        if command.endswith("&"):
            process = subprocess.Popen(
                ["bash", "-c", f"exec {command[:-1]}"], cwd=tmp_path, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
            background.append(process)
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
            continue
        result = shell(command, tmp_path, env)
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        outputs.append(result)
    imported, inspected, planned, gated = outputs
    # What the page says each command shows.
    assert "scrubbed: param:token x266" in imported.stderr
    assert "wrote 12597 requests" in imported.stderr
    assert blocks("text")[0] in inspected.stdout
    assert planned.stdout.startswith(blocks("text")[1])
    assert "verdict: PASS" in gated.stderr
    for line in blocks("text")[2].splitlines()[1:4]:
        assert line.split("  (observed")[0] in gated.stderr
    run_dir = tmp_path / gated.stdout.strip()
    assert (run_dir / "report.html").is_file() and (run_dir / "junit.xml").is_file()
