"""Read the examples as their platforms would, and run their warmer commands on this machine.

Each runner executes what the platform would execute — a GitHub step's ``run`` under
``bash -eo pipefail``, a GitLab job's ``script`` lines, a Kubernetes container's
``command``/``args`` with its ``env`` and volume mounts — with three substitutions only:
platform expressions (``${{ inputs.x }}``, ``{{args.x}}``) take test values, in-cluster
service URLs (``http://shop-*.shop.svc:8080``) become the reference candidate's URL, and
mount paths become local directories holding what the volume would hold.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.ship.conftest import EXAMPLES

BIN = Path(sys.executable).parent
"""Where this environment's ``warmer`` and ``python`` live: first on every runner's PATH."""
SERVICE_URL = re.compile(r"http://shop-[a-z]+\.shop\.svc:8080")
"""How the examples name the candidate inside the cluster."""
_GITHUB_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")
_ARGO_ARG = re.compile(r"\{\{args\.([\w-]+)\}\}")
_K8S_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def documents(path: Path) -> list[dict[str, Any]]:
    """Every YAML document in ``path`` (empty ones dropped)."""
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc]


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    """Every Kubernetes document under examples/ (CI files are not manifests)."""
    found = []
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        found += [(path, doc) for doc in documents(path) if "kind" in doc]
    return found


def find(kind: str, name: str | None = None) -> dict[str, Any]:
    """The one example manifest of ``kind`` (called ``name`` when given)."""
    matches = [
        doc
        for _, doc in manifests()
        if doc["kind"] == kind and name in (None, doc["metadata"]["name"])
    ]
    assert len(matches) == 1, f"expected one {kind} {name or ''} in examples/, found {len(matches)}"
    return matches[0]


def github_expressions(text: str, values: Mapping[str, str]) -> str:
    """``${{ expr }}`` replaced from ``values``; an unknown expression fails the test."""

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        assert expression in values, f"no test value for ${{{{ {expression} }}}}"
        return values[expression]

    return _GITHUB_EXPRESSION.sub(replace, text)


def argo_args(text: str, values: Mapping[str, str]) -> str:
    """Argo's ``{{args.name}}`` replaced from ``values``."""
    return _ARGO_ARG.sub(lambda match: values[match.group(1)], text)


def to_candidate(text: str, target: str) -> str:
    """In-cluster service URLs replaced by the reference candidate's URL."""
    return SERVICE_URL.sub(target, text)


def run(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``argv`` with this environment's ``warmer`` first on PATH, nothing of the caller's
    ``WARMER_*`` or GitHub variables, and ``env`` on top."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WARMER_", "GITHUB_")) and k not in ("CANDIDATE_URL", "L2_REDIS_URL")
    }
    environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"
    environment.update({"NO_COLOR": "1", **env})
    return subprocess.run(
        list(argv), cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
    )


def bash(script: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``script`` as GitHub Actions and GitLab run a step: bash, errexit, pipefail."""
    return run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd, env)


def configmap_files(name: str) -> dict[str, str]:
    """The files the example ConfigMap ``name`` holds."""
    data: dict[str, str] = find("ConfigMap", name)["data"]
    return data


def mount_volumes(
    pod: Mapping[str, Any], container: Mapping[str, Any], root: Path
) -> dict[str, Path]:
    """Mount path → a local directory holding what the pod's volume would hold.

    ConfigMaps get their files; the data volume (a PersistentVolumeClaim) is ``root/data``,
    where the caller has put the sample.
    """
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            local = root / f"configmap-{volume['name']}"
            local.mkdir(parents=True, exist_ok=True)
            for file, text in configmap_files(volume["configMap"]["name"]).items():
                (local / file).write_text(text, encoding="utf-8")
        else:
            assert "persistentVolumeClaim" in volume, f"unexpected volume {volume}"
            local = root / "data"
        mounts[mount["mountPath"]] = local
    return mounts


def local_paths(text: str, mounts: Mapping[str, Path]) -> str:
    """Container paths under a mount rewritten to the local directories."""
    for mount_path in sorted(mounts, key=len, reverse=True):
        text = re.sub(rf"(?<![\w/]){re.escape(mount_path)}(?=/|\b)", str(mounts[mount_path]), text)
    return text


def container_env(
    container: Mapping[str, Any], secrets: Mapping[tuple[str, str], str], edit: Callable[[str], str]
) -> dict[str, str]:
    """The container's ``env``: values through ``edit``, secret references from ``secrets``."""
    env = {}
    for item in container.get("env", []):
        if "valueFrom" in item:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[(ref["name"], ref["key"])]
        else:
            env[item["name"]] = edit(str(item["value"]))
    return env


def run_container(
    pod: Mapping[str, Any],
    root: Path,
    secrets: Mapping[tuple[str, str], str],
    edit: Callable[[str], str],
) -> subprocess.CompletedProcess[str]:
    """Run the pod's first container as the image would: ENTRYPOINT ``warmer``, WORKDIR /work."""
    container = pod["containers"][0]
    mounts = mount_volumes(pod, container, root)
    assert "/work" in mounts, "the data volume goes to /work, the image's working directory"
    env = container_env(container, secrets, edit)
    argv = [*container.get("command", ["warmer"]), *container.get("args", [])]
    # Kubernetes expands $(VAR) in command and args from the container's env.
    argv = [_K8S_VAR.sub(lambda m: env[m.group(1)], edit(arg)) for arg in argv]
    return run([local_paths(arg, mounts) for arg in argv], mounts["/work"], env)
