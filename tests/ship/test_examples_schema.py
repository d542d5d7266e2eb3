"""Every example is valid for its platform: CI files against the platform's JSON schema,
Kubernetes manifests against the API's, custom resources field by field, references resolved.

A new file under examples/ is picked up by kind; a kind nobody checks fails the test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.conftest import require
from tests.ship.conftest import EXAMPLES, REPO
from tests.ship.manifests import documents, find, manifests

KUBERNETES_VERSION = "1.30"
"""The API version the manifests are checked against (an old one still widely run)."""
CI_SCHEMAS = {
    EXAMPLES / "github-actions" / "warmup-gate.yml": "vendor.github-workflows",
    EXAMPLES / "gitlab-ci" / "gitlab-ci.yml": "vendor.gitlab-ci",
    REPO / "action.yml": "vendor.github-actions",
}
"""CI files and the schema (vendored in check-jsonschema) their platform reads them with."""
FLAGGER_HOOKS = {
    "confirm-rollout",
    "pre-rollout",
    "rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
    "post-rollout",
    "rollback",
    "event",
}


def tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    require(str(path) if path.exists() else None, name)
    return str(path)


@pytest.mark.parametrize("path", sorted(CI_SCHEMAS), ids=lambda p: p.relative_to(REPO).as_posix())
def test_ci_files_match_their_platform_schema(path: Path) -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", CI_SCHEMAS[path], str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_example_file_is_checked() -> None:
    ci = {path for path in CI_SCHEMAS if path.is_relative_to(EXAMPLES)}
    yaml_files = {p for p in EXAMPLES.rglob("*.y*ml")}
    assert yaml_files - ci == {path for path, _ in manifests()}, "a YAML file that is neither"
    others = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*") if p.is_file()}
    others -= {p.relative_to(EXAMPLES).as_posix() for p in yaml_files}
    assert others == {"README.md", "warmer.toml", "flagger/Dockerfile"}


def validate(doc: dict[str, Any], where: str) -> None:
    """``doc`` against the Kubernetes API schema, strictly (unknown fields are errors)."""
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{where}: {exc.json_path}: {exc.message}")


def wrapped(kind: str, api_version: str, spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` as a standalone resource, to check what a custom resource embeds."""
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": spec}


def check_analysis_template(doc: dict[str, Any], where: str) -> None:
    assert doc["apiVersion"] == "argoproj.io/v1alpha1"
    assert doc["spec"]["metrics"], f"{where}: no metrics"
    for metric in doc["spec"]["metrics"]:
        assert metric["name"] and list(metric["provider"]) == ["job"], where
        validate(wrapped("Job", "batch/v1", metric["provider"]["job"]["spec"]), where)


def check_rollout(doc: dict[str, Any], where: str) -> None:
    assert doc["apiVersion"] == "argoproj.io/v1alpha1"
    spec = doc["spec"]
    validate(
        wrapped("Deployment", "apps/v1", {k: spec[k] for k in ("selector", "template")}), where
    )
    blue_green = spec["strategy"]["blueGreen"]
    assert blue_green["activeService"] and blue_green["previewService"], where
    analysis = blue_green["prePromotionAnalysis"]
    given = {arg["name"] for arg in analysis["args"]}
    for ref in analysis["templates"]:
        template = find("AnalysisTemplate", ref["templateName"])
        assert {arg["name"] for arg in template["spec"]["args"]} == given, where


def check_canary(doc: dict[str, Any], where: str) -> None:
    assert doc["apiVersion"] == "flagger.app/v1beta1"
    spec = doc["spec"]
    assert set(spec["targetRef"]) == {"apiVersion", "kind", "name"}, where
    assert isinstance(spec["service"]["port"], int), where
    for hook in spec["analysis"]["webhooks"]:
        assert hook["name"] and hook["type"] in FLAGGER_HOOKS, where
        service = hook["url"].split("//", 1)[1].split(".", 1)[0]
        find("Service", service)  # the load tester the hook calls is among the examples


CUSTOM = {
    "AnalysisTemplate": check_analysis_template,
    "Rollout": check_rollout,
    "Canary": check_canary,
}


@pytest.mark.parametrize(
    ("path", "doc"),
    manifests(),
    ids=[f"{p.relative_to(EXAMPLES)}:{d['kind']}" for p, d in manifests()],
)
def test_manifest_is_valid(path: Path, doc: dict[str, Any]) -> None:
    where = f"{path.relative_to(REPO)} {doc['kind']}"
    if doc["kind"] in CUSTOM:
        assert doc["metadata"]["name"], where
        CUSTOM[doc["kind"]](doc, where)
    else:
        validate(doc, where)


def pod_specs() -> list[dict[str, Any]]:
    """Every pod spec the examples run warmer in."""
    pods = [
        find("Job", "warmer-gate")["spec"]["template"]["spec"],
        find("Deployment", "warmer-loadtester")["spec"]["template"]["spec"],
    ]
    for metric in find("AnalysisTemplate", "warmer-gate")["spec"]["metrics"]:
        pods.append(metric["provider"]["job"]["spec"]["template"]["spec"])
    return pods


def test_pods_run_as_the_image_user_with_the_shared_volumes() -> None:
    for pod in pod_specs():
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "fsGroup": 10001,
        }
        for volume in pod["volumes"]:
            if "configMap" in volume:
                find("ConfigMap", volume["configMap"]["name"])
            else:
                find("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts == {"/etc/warmer", "/work"}


def test_the_configmap_holds_the_examples_warmer_toml() -> None:
    data = documents(EXAMPLES / "kubernetes" / "configmap.yaml")[0]["data"]
    assert data == {"warmer.toml": (EXAMPLES / "warmer.toml").read_text()}


@pytest.mark.parametrize("dockerfile", [REPO / "Dockerfile", EXAMPLES / "flagger" / "Dockerfile"])
def test_dockerfiles_pass_hadolint(dockerfile: Path) -> None:
    result = subprocess.run(
        [tool("hadolint"), str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
