"""Dockerfile and docker-compose.yml, checked statically (no Docker engine here)."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TARGETS = ("jobs", "api", "airflow")


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages with their instructions (continuation lines joined, comments dropped)."""
    logical: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(parts[0], name))
        elif stages:
            stages[-1].instructions.append((keyword, rest.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    parsed = parse_dockerfile((REPO / "Dockerfile").read_text())
    return {s.name: s for s in parsed}


def chain(stages: dict[str, Stage], target: str) -> list[Stage]:
    """The stage and its ancestors, nearest first."""
    out = []
    stage: Stage | None = stages[target]
    while stage is not None:
        out.append(stage)
        stage = stages.get(stage.base)
    return out


def last(stages: dict[str, Stage], target: str, keyword: str) -> str | None:
    for stage in chain(stages, target):
        values = [v for k, v in stage.instructions if k == keyword]
        if values:
            return values[-1]
    return None


def test_targets_exist(stages: dict[str, Stage]) -> None:
    assert set(TARGETS) <= set(stages)


def test_base_images_are_pinned_by_tag_and_digest(stages: dict[str, Stage]) -> None:
    external = [s.base for s in stages.values() if s.base not in stages]
    assert external
    for image in external:
        assert "$" not in image, f"{image}: pin literally (scanners cannot resolve ARGs)"
        reference, _, digest = image.partition("@sha256:")
        assert re.fullmatch(r"[0-9a-f]{64}", digest), f"{image}: pin the digest"
        name, _, tag = reference.rpartition(":")
        assert name and tag and tag != "latest", image
        assert re.search(r"\d+\.\d+\.\d+", tag), f"{image}: exact version tag"


def test_python_packages_come_from_hashed_lockfiles(stages: dict[str, Stage]) -> None:
    installs = [
        v for s in stages.values() for k, v in s.instructions if k == "RUN" and "pip install" in v
    ]
    assert installs
    for run in installs:
        for command in re.findall(r"pip install[^&]*", run):
            if "--require-hashes" in command:
                assert re.search(r"-r \S+\.lock", command), command
            else:  # only the project itself, never a dependency
                assert "--no-deps" in command and command.rstrip().endswith(" ."), command
    for lock in ("runtime", "airflow"):
        text = (REPO / "requirements" / f"{lock}.lock").read_text()
        pins = re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==", text, re.M)
        assert pins, lock
        assert text.count("--hash=sha256:") >= len(pins), f"{lock}: every pin hashed"


def _name(requirement: str) -> str:
    """Normalized distribution name of a requirement string (PEP 503)."""
    match = re.match(r"[A-Za-z0-9_.\-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def test_every_declared_dependency_is_in_its_lockfile() -> None:
    """Images and bundles install only the locks (`--no-deps`): a dependency missing from
    them is missing at run time (deltalake and rich once were)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {
        "runtime": project["dependencies"],
        "dev": [*project["dependencies"], *project["optional-dependencies"]["dev"]],
    }
    for lock, requirements in wanted.items():
        text = (REPO / "requirements" / f"{lock}.lock").read_text()
        pinned = {_name(p) for p in re.findall(r"^([A-Za-z0-9_.\-]+)==", text, re.M)}
        missing = sorted({_name(r) for r in requirements} - pinned)
        assert not missing, f"requirements/{lock}.lock lacks {missing}"


@pytest.mark.parametrize("target", TARGETS)
def test_targets_run_as_non_root(stages: dict[str, Stage], target: str) -> None:
    user = last(stages, target, "USER")
    assert user is not None, f"{target}: no USER"
    name = user.split(":")[0]
    assert name not in {"root", "0"}, f"{target}: runs as {user}"
    assert "--uid 10001" in " ".join(
        v for s in stages.values() for k, v in s.instructions if k == "RUN"
    )


def test_ecs_runs_the_api_as_the_image_user(stages: dict[str, Stage]) -> None:
    task = (REPO / "terraform" / "modules" / "api_ecs" / "main.tf").read_text()
    match = re.search(r'user\s*=\s*"([^"]+)"', task)
    assert match and match.group(1) == last(stages, "api", "USER")
    assert re.search(r"containerPort\s*=\s*local\.container_port", task)
    assert re.search(r"container_port\s*=\s*8000", task)


def test_api_target_serves_on_8000_with_the_admin_listener_on_loopback(
    stages: dict[str, Stage],
) -> None:
    entrypoint = json.loads(last(stages, "api", "ENTRYPOINT") or "[]")
    assert entrypoint[:3] == ["python", "-m", "jobs.serve"]
    assert entrypoint[entrypoint.index("--port") + 1] == "8000"
    assert entrypoint[entrypoint.index("--admin-host") + 1] == "127.0.0.1"
    assert last(stages, "api", "EXPOSE") == "8000"
    assert last(stages, "api", "HEALTHCHECK")


def test_jobs_target_has_jre17_and_baked_jars(stages: dict[str, Stage]) -> None:
    entrypoint = last(stages, "jobs", "ENTRYPOINT") or ""
    assert "spark-submit" in entrypoint
    bases = [s.base for s in stages.values()]
    assert any(b.startswith("eclipse-temurin:17") for b in bases)
    jars = stages["jars"]
    runs = " ".join(v for k, v in jars.instructions if k == "RUN")
    envs = " ".join(v for k, v in jars.instructions if k == "ENV")
    assert "python -m jobs.bootstrap" in runs
    assert "FINLAKE_CACHE_DIR=/opt/finlake/cache" in envs
    copies = [v for k, v in stages["spark-runtime"].instructions if k == "COPY"]
    assert any("--from=jars" in c and "/opt/finlake/cache" in c for c in copies)
    assert any("--from=jre" in c for c in copies)


def test_airflow_target_has_its_own_venv_and_the_dags(stages: dict[str, Stage]) -> None:
    airflow = stages["airflow"]
    args = dict(v.split("=", 1) for k, v in airflow.instructions if k == "ARG" and "=" in v)
    assert args["AIRFLOW_VERSION"] == "3.3.2"
    runs = " ".join(v for k, v in airflow.instructions if k == "RUN")
    assert "python -m venv /opt/airflow-venv" in runs
    assert "/opt/airflow-venv/bin/pip install" in runs
    assert any(k == "COPY" and "dags/" in v for k, v in airflow.instructions)


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "**", "deny by default"
    assert "!.venv/" not in patterns and "!.git/" not in patterns


# --- compose --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_has_the_full_local_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"minio", "trino", "airflow", "api"} <= set(services)
    assert services["api"]["build"]["target"] == "api"
    assert services["airflow"]["build"]["target"] == "airflow"
    assert services["jobs"]["build"]["target"] == "jobs"


def test_compose_images_are_pinned_and_ports_stay_on_loopback(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service.get("image", "")
        if "build" not in service:
            assert re.search(r":[^:@]+@sha256:[0-9a-f]{64}$", image), f"{name}: {image}"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} exposed beyond loopback"


def test_compose_dependencies_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dep in service.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"


def test_compose_points_finlake_at_the_s3_service(compose: dict[str, Any]) -> None:
    api_env = compose["services"]["api"]["environment"]
    assert api_env["FINLAKE_S3_ENDPOINT"] == "http://minio:9000"
    assert api_env["FINLAKE_LAKE_ROOT"].startswith("s3a://")
    catalog = compose["configs"]["trino-delta-catalog"]["content"]
    props = dict(line.split("=", 1) for line in catalog.splitlines() if "=" in line)
    assert props["connector.name"] == "delta_lake"
    assert props["s3.endpoint"] == "http://minio:9000"
