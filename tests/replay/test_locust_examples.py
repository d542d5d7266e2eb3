"""The Kubernetes example (examples/kubernetes/locust-*.yaml) stays true to warmer's CLI.

The manifests are read as Kubernetes would read them; the commands they run are parsed
by warmer's own commands, and the config they mount is loaded by warmer's loader, so a
renamed option or a port that no longer matches fails here instead of in a cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from warmer.cli.main import cli
from warmer.config.load import load_config
from warmer.replay.locust_engine import LocustOptions
from warmer.replay.locust_engine.options import DEFAULT_PORT, parse_host_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kubernetes"


def documents(name: str) -> dict[str, dict[str, Any]]:
    with open(EXAMPLES / name) as fh:
        return {doc["kind"]: doc for doc in yaml.safe_load_all(fh) if doc}


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, Any]]:
    return {**documents("locust-gate-job.yaml"), **documents("locust-workers.yaml")}


def container(workload: dict[str, Any]) -> dict[str, Any]:
    [only] = workload["spec"]["template"]["spec"]["containers"]
    return only


def parse(args: list[str]) -> click.Context:
    """``warmer ARGS`` parsed (not run) by warmer's own commands."""
    commands = set(cli.list_commands(click.Context(cli)))
    at = next(i for i, arg in enumerate(args) if arg in commands)
    top = cli.make_context("warmer", list(args[: at + 1]))
    command = cli.get_command(top, args[at])
    assert command is not None, args
    return command.make_context(args[at], list(args[at + 1 :]), parent=top)


def test_the_workers_find_the_master_through_the_service(
    manifests: dict[str, dict[str, Any]], master: LocustOptions
) -> None:
    service, job = manifests["Service"], manifests["Job"]
    workers = container(manifests["Deployment"])
    assert workers["command"] == ["warmer"]
    worker = parse(workers["args"])
    host, port = parse_host_port(worker.params["master"], DEFAULT_PORT, "--master")
    assert host == service["metadata"]["name"]
    [service_port] = service["spec"]["ports"]
    assert port == service_port["port"]
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    [gate_port] = container(job)["ports"]
    assert service_port["targetPort"] == gate_port["name"]
    assert gate_port["containerPort"] == master.address()[1]


@pytest.fixture(scope="module")
def master(
    manifests: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> LocustOptions:
    """The Locust layout of the config the Job mounts, as warmer loads it."""
    path = tmp_path_factory.mktemp("k8s") / "warmer.toml"
    path.write_text(manifests["ConfigMap"]["data"]["warmer.toml"])
    config, _ = load_config(path, env={"CANDIDATE_URL": "http://candidate:8080"})
    assert config.replay.engine == "locust"
    options = LocustOptions.from_config(config.replay)
    options.validate()
    return options


def test_the_gate_waits_for_the_deployment_s_workers(
    manifests: dict[str, dict[str, Any]], master: LocustOptions
) -> None:
    options = master
    assert options.workers == 0 and options.address()[0] == "0.0.0.0"
    assert options.expected == manifests["Deployment"]["spec"]["replicas"]
    job = manifests["Job"]
    gate = parse(container(job)["args"])
    assert gate.info_name == "gate" and job["spec"]["backoffLimit"] == 0
    mounts = {m["name"]: m["mountPath"] for m in container(job)["volumeMounts"]}
    assert gate.parent is not None
    assert str(gate.parent.params["config_path"]).startswith(mounts["config"])


def test_only_the_workers_may_reach_the_master(manifests: dict[str, dict[str, Any]]) -> None:
    policy = manifests["NetworkPolicy"]["spec"]
    master_labels = manifests["Job"]["spec"]["template"]["metadata"]["labels"]
    worker_labels = manifests["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"] == master_labels
    [rule] = policy["ingress"]
    [source] = rule["from"]
    assert source["podSelector"]["matchLabels"] == worker_labels
    assert [p["port"] for p in rule["ports"]] == [5557]
