"""Static checks of the container files: the Dockerfile, Compose and Kubernetes.

None of these files can be run in the test environment (there is no container
engine), so these tests read them and check what the rest of the project relies
on: service names, ports, health checks, the non-root user, probe paths, and
that the names shared between files (consumer group, config path, settings)
agree with one another and with README.md.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from omniout.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
README = ROOT / "README.md"

ADMIN_PORT = 8080
CONFIG_PATH = "/etc/omniout/config.yaml"
HEALTH_URL = f"http://127.0.0.1:{ADMIN_PORT}/healthz"

# What README.md documents: the host port of each service of the stack.
PUBLISHED_PORTS = {
    "kafka": {9092},
    "jaeger": {16686, 4317, 4318},
    "postgres": {5432},
    "receiver": {9000},
    "omniout": set(),
}

# Settings and OpenTelemetry variables must be documented for the operator.
DOCUMENTED_PREFIXES = ("OMNIOUT_", "OTEL_")


# --- reading the files -------------------------------------------------------


def _mapping(value: object, what: str) -> dict[str, Any]:
    assert isinstance(value, dict), f"{what} is not a mapping"
    return value


def _sequence(value: object, what: str) -> list[Any]:
    assert isinstance(value, list), f"{what} is not a list"
    return value


def _instructions(text: str) -> list[tuple[str, str]]:
    """Split a Dockerfile into (INSTRUCTION, arguments), continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    return instructions[starts[-1] :]


def _args(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [rest for kw, rest in stage if kw == keyword]


def _compose_env(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, whichever of the two Compose syntaxes it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (str(item).partition("=") for item in env)
        return {name: value for name, _, value in pairs}
    return {str(k): str(v) for k, v in _mapping(env, "environment").items()}


def _published(port: object) -> int | None:
    """The host port of one `ports` entry, short or long syntax."""
    if isinstance(port, dict):
        published = port.get("published")
        return None if published is None else int(published)
    parts = str(port).split("/")[0].split(":")
    return int(parts[-2]) if len(parts) >= 2 else None


def _k8s_env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    entries = _sequence(container.get("env", []), "env")
    return {entry["name"]: entry for entry in entries}


def _image_env(dockerfile: list[tuple[str, str]]) -> dict[str, str]:
    lines = _args(_final_stage(dockerfile), "ENV")
    pairs = (word.partition("=") for rest in lines for word in shlex.split(rest))
    return {name: value for name, _, value in pairs}


def _load_config(
    path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Load a config file as omniout would with exactly ``env`` as its settings."""
    for name in [n for n in os.environ if n.startswith("OMNIOUT_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(path)


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    text = COMPOSE.read_text(encoding="utf-8")
    compose = _mapping(yaml.safe_load(text), "compose.yaml")
    raw = _mapping(compose.get("services"), "services")
    return {name: _mapping(s, name) for name, s in raw.items()}


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return _instructions(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, Any]]:
    """Every Kubernetes object under deploy/k8s, by kind."""
    objects: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                obj = _mapping(doc, path.name)
                objects[obj["kind"]] = obj
    return objects


@pytest.fixture(scope="module")
def container(manifests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    return _mapping(pod["containers"][0], "container")


# --- compose ------------------------------------------------------------------


def test_compose_defines_the_stack_services(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == {"kafka", "jaeger", "postgres", "receiver", "omniout"}


def test_consumer_group_runs_three_replicas(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services["omniout"]["deploy"]["replicas"] == 3


@pytest.mark.parametrize(("name", "ports"), sorted(PUBLISHED_PORTS.items()))
def test_services_publish_the_documented_host_ports(
    services: dict[str, dict[str, Any]], name: str, ports: set[int]
) -> None:
    # The replicas publish nothing: three containers cannot share host port 8080.
    entries = _sequence(services[name].get("ports", []), f"{name} ports")
    assert {_published(entry) for entry in entries} == ports


def test_every_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    # None is exempt: each image carries something to probe with (Kafka's own
    # scripts, BusyBox wget in Jaeger's Alpine image, pg_isready, and Python in
    # ours), so depends_on can wait for service_healthy everywhere.
    for name, service in services.items():
        check = _mapping(service.get("healthcheck"), f"{name} healthcheck")
        assert not check.get("disable"), name
        assert check["test"], name
        assert check["test"][0] != "NONE", name


def test_dependencies_wait_for_services_that_report_health(
    services: dict[str, dict[str, Any]],
) -> None:
    depends_on = _mapping(services["omniout"]["depends_on"], "depends_on")
    assert {"kafka", "postgres"} <= set(depends_on)
    for name, condition in depends_on.items():
        assert condition["condition"] == "service_healthy", name
        assert "healthcheck" in services[name], name


def test_kafka_is_single_node_kraft_with_internal_and_host_listeners(
    services: dict[str, dict[str, Any]],
) -> None:
    kafka = services["kafka"]
    env = _compose_env(kafka)
    factors = {k: v for k, v in env.items() if k.endswith("REPLICATION_FACTOR")}

    assert kafka["image"] == "apache/kafka:4.1.1"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "kafka:29092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "localhost:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert factors
    assert set(factors.values()) == {"1"}
    assert "kafka-broker-api-versions.sh" in str(kafka["healthcheck"]["test"])


def test_jaeger_is_a_v2_all_in_one(services: dict[str, dict[str, Any]]) -> None:
    assert services["jaeger"]["image"].startswith("jaegertracing/jaeger:2.")


def test_postgres_password_has_a_local_default_that_can_be_overridden(
    services: dict[str, dict[str, Any]],
) -> None:
    env = _compose_env(services["postgres"])

    assert env["POSTGRES_USER"] == env["POSTGRES_DB"] == "omniout"
    assert env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:-")
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])


def test_replicas_reach_the_stack_by_service_name(
    services: dict[str, dict[str, Any]],
) -> None:
    env = _compose_env(services["omniout"])

    assert env["OMNIOUT_KAFKA__BOOTSTRAP_SERVERS"] == "kafka:29092"
    assert re.fullmatch(
        r"postgresql://omniout:.+@postgres:5432/omniout", env["OMNIOUT_LEDGER__URL"]
    )
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    assert env["OTEL_SERVICE_NAME"] == "omniout"


def test_replicas_mount_the_demo_config_where_the_image_reads_it(
    services: dict[str, dict[str, Any]], dockerfile: list[tuple[str, str]]
) -> None:
    cmd = json.loads(_args(_final_stage(dockerfile), "CMD")[-1])

    assert f"./demo/config.yaml:{CONFIG_PATH}:ro" in services["omniout"]["volumes"]
    assert cmd == ["run", "-c", CONFIG_PATH]


def test_demo_config_is_valid_and_delivers_to_the_receiver_container(
    services: dict[str, dict[str, Any]],
    dockerfile: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Inside a replica, 127.0.0.1 is the replica itself: the demo routes must
    # reach the receiver by its service name.
    env = _image_env(dockerfile) | _compose_env(services["omniout"])
    settings = _load_config(DEPLOY / "demo" / "config.yaml", env, monkeypatch)
    urls = [route.endpoint.url for route in settings.routes]

    assert all((url or "").startswith("http://receiver:9000") for url in urls), urls


def test_replicas_check_health_on_the_admin_port(
    services: dict[str, dict[str, Any]],
) -> None:
    assert HEALTH_URL in str(services["omniout"]["healthcheck"]["test"])


def test_receiver_runs_the_demo_module_from_the_same_image(
    services: dict[str, dict[str, Any]],
) -> None:
    receiver, omniout = services["receiver"], services["omniout"]
    argv = [*receiver["entrypoint"], *receiver["command"]]

    # On 0.0.0.0, or neither the replicas nor the published port reach it.
    assert argv == [
        "python", "-m", "omniout.demo.receiver", "--host", "0.0.0.0", "--port", "9000"
    ]
    assert receiver["image"] == omniout["image"]
    assert receiver["build"] == omniout["build"]


def test_image_is_built_from_the_repository_root(
    services: dict[str, dict[str, Any]],
) -> None:
    build = services["omniout"]["build"]
    context = (DEPLOY / build["context"]).resolve()

    assert context == ROOT
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    assert (context / ".dockerignore").is_file()


# --- Dockerfile -----------------------------------------------------------------


def test_image_is_built_in_stages_on_python_311_slim(
    dockerfile: list[tuple[str, str]],
) -> None:
    bases = [rest.split()[0] for rest in _args(dockerfile, "FROM")]
    final = " ".join(rest for _, rest in _final_stage(dockerfile))

    assert len(bases) >= 2
    assert set(bases) == {"python:3.11-slim"}
    assert "from=build" in final
    assert "pip install" in final


def test_image_runs_as_a_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    user = _args(_final_stage(dockerfile), "USER")[-1].split(":")[0]

    assert user == "10001"


def test_image_entrypoint_is_the_omniout_command(
    dockerfile: list[tuple[str, str]],
) -> None:
    entrypoint = json.loads(_args(_final_stage(dockerfile), "ENTRYPOINT")[-1])

    assert entrypoint == ["omniout"]


def test_image_exposes_and_checks_the_admin_port(
    dockerfile: list[tuple[str, str]],
) -> None:
    stage = _final_stage(dockerfile)
    healthcheck = _args(stage, "HEALTHCHECK")[-1]

    assert str(ADMIN_PORT) in _args(stage, "EXPOSE")
    assert HEALTH_URL in healthcheck
    assert "python" in healthcheck
    assert "curl" not in healthcheck


def test_image_carries_the_local_schemas(dockerfile: list[tuple[str, str]]) -> None:
    stage = _final_stage(dockerfile)

    assert any("/app/schemas" in rest for rest in _args(stage, "COPY"))
    assert _image_env(dockerfile)["OMNIOUT_SCHEMAS_DIR"] == "/app/schemas"


def test_image_serves_the_admin_port_beyond_loopback(
    dockerfile: list[tuple[str, str]],
) -> None:
    # Probes and Prometheus connect to the pod's address, not to 127.0.0.1.
    assert _image_env(dockerfile)["OMNIOUT_ADMIN__HOST"] == "0.0.0.0"


def test_build_context_leaves_out_local_state() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())

    assert {".git", ".venv", "**/__pycache__", ".mypy_cache"} <= ignored


# --- Kubernetes -----------------------------------------------------------------


def test_manifests_parse_and_name_no_namespace(
    manifests: dict[str, dict[str, Any]],
) -> None:
    kinds = {"ConfigMap", "Deployment", "Service", "ScaledObject"}

    assert kinds <= set(manifests)
    for kind, obj in manifests.items():
        assert "namespace" not in obj["metadata"], kind


def test_deployment_probes_the_admin_port(
    manifests: dict[str, dict[str, Any]], container: dict[str, Any]
) -> None:
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    ready = container["readinessProbe"]["httpGet"]
    live = container["livenessProbe"]["httpGet"]

    assert manifests["Deployment"]["spec"]["replicas"] == 3
    assert ports["admin"] == ADMIN_PORT
    assert (ready["path"], ready["port"]) == ("/readyz", "admin")
    assert (live["path"], live["port"]) == ("/healthz", "admin")


def test_deployment_takes_secrets_from_the_omniout_secret(
    container: dict[str, Any],
) -> None:
    env = _k8s_env(container)
    secret_refs = {
        name: entry["valueFrom"]["secretKeyRef"]["name"]
        for name, entry in env.items()
        if "secretKeyRef" in entry.get("valueFrom", {})
    }

    assert secret_refs["OMNIOUT_LEDGER__URL"] == "omniout-secrets"
    assert len(secret_refs) >= 2, "the OAuth client secret comes from the Secret"
    assert set(secret_refs.values()) == {"omniout-secrets"}


def test_deployment_runs_non_root_and_drains_on_sigterm(
    manifests: dict[str, dict[str, Any]], container: dict[str, Any]
) -> None:
    pod = manifests["Deployment"]["spec"]["template"]["spec"]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["terminationGracePeriodSeconds"] == 60
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]


def test_deployment_mounts_the_configmap_at_the_config_path(
    manifests: dict[str, dict[str, Any]], container: dict[str, Any]
) -> None:
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    configmap = manifests["ConfigMap"]

    mounted = volumes[mounts[str(Path(CONFIG_PATH).parent)]]
    assert mounted["configMap"]["name"] == configmap["metadata"]["name"]
    assert Path(CONFIG_PATH).name in configmap["data"]


def test_configmap_example_is_a_valid_config(
    manifests: dict[str, dict[str, Any]],
    dockerfile: list[tuple[str, str]],
    container: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(manifests["ConfigMap"]["data"]["config.yaml"], encoding="utf-8")
    values = {n: e["value"] for n, e in _k8s_env(container).items() if "value" in e}
    # The Secret's value is not in the manifests; any PostgreSQL URL stands in.
    values["OMNIOUT_LEDGER__URL"] = "postgresql://omniout@postgres:5432/omniout"

    settings = _load_config(path, _image_env(dockerfile) | values, monkeypatch)

    assert settings.kafka.group_id == values["OMNIOUT_KAFKA__GROUP_ID"]
    assert settings.routes


def test_service_exposes_the_admin_port_of_the_pods(
    manifests: dict[str, dict[str, Any]],
) -> None:
    service = manifests["Service"]["spec"]
    pod_labels = manifests["Deployment"]["spec"]["template"]["metadata"]["labels"]

    assert service["ports"][0]["targetPort"] == "admin"
    assert service["ports"][0]["port"] == ADMIN_PORT
    assert service["selector"].items() <= pod_labels.items()


def test_scaled_object_watches_the_deployments_consumer_group(
    manifests: dict[str, dict[str, Any]], container: dict[str, Any]
) -> None:
    spec = manifests["ScaledObject"]["spec"]
    trigger = spec["triggers"][0]
    kafka = trigger["metadata"]
    env = {name: entry.get("value") for name, entry in _k8s_env(container).items()}
    deployment = manifests["Deployment"]["metadata"]["name"]

    assert spec["scaleTargetRef"]["name"] == deployment
    assert trigger["type"] == "kafka"
    assert kafka["consumerGroup"] == env["OMNIOUT_KAFKA__GROUP_ID"]
    assert kafka["bootstrapServers"] == env["OMNIOUT_KAFKA__BOOTSTRAP_SERVERS"]
    # KEDA reads trigger metadata as strings only.
    assert kafka["lagThreshold"] == "100"
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 6)


def test_scaled_object_topic_is_one_the_config_consumes(
    manifests: dict[str, dict[str, Any]],
) -> None:
    topic = manifests["ScaledObject"]["spec"]["triggers"][0]["metadata"]["topic"]

    assert topic in manifests["ConfigMap"]["data"]["config.yaml"]


# --- README ---------------------------------------------------------------------


def _variables_set_by_container_files(
    services: dict[str, dict[str, Any]],
    dockerfile: list[tuple[str, str]],
    container: dict[str, Any],
) -> set[str]:
    names = {name for s in services.values() for name in _compose_env(s)}
    names |= set(_k8s_env(container))
    names |= set(_image_env(dockerfile))
    return {name for name in names if name.startswith(DOCUMENTED_PREFIXES)}


def test_readme_documents_every_variable_the_containers_set(
    services: dict[str, dict[str, Any]],
    dockerfile: list[tuple[str, str]],
    container: dict[str, Any],
) -> None:
    names = _variables_set_by_container_files(services, dockerfile, container)
    assert README.is_file(), "README.md is missing"
    readme = README.read_text(encoding="utf-8")

    missing = sorted(n for n in names if not re.search(rf"\b{n}\b", readme))
    assert {"OMNIOUT_KAFKA__GROUP_ID", "OMNIOUT_SCHEMAS_DIR"} <= names
    assert missing == [], f"README.md does not mention {missing}"
