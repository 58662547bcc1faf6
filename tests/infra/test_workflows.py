"""GitHub Actions workflows: CI covers every check, CD deploys with OIDC and gates prod."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def run_lines(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job.get("steps", []))


def test_ci_runs_lint_tests_infra_checks_and_image_builds() -> None:
    ci = load("ci.yml")
    jobs = ci["jobs"]
    all_runs = "\n".join(run_lines(job) for job in jobs.values())
    assert "make lint" in all_runs
    assert "make test" in all_runs
    assert ".ci/infra-lint" in all_runs or "make lint-infra" in all_runs
    assert set(jobs["image"]["strategy"]["matrix"]["target"]) == {"jobs", "api", "airflow"}
    assert ci["permissions"] == {"contents": "read"}
    assert "pull_request" in ci["on"]


def test_cd_deploys_dev_then_prod_through_the_environment_gated_workflow() -> None:
    cd = load("cd.yml")
    jobs = cd["jobs"]
    dev, prod = jobs["deploy-dev"], jobs["deploy-prod"]
    assert dev["uses"] == prod["uses"] == "./.github/workflows/deploy.yml"
    assert dev["with"]["environment"] == "dev"
    assert prod["with"]["environment"] == "prod"
    needs = prod["needs"] if isinstance(prod["needs"], list) else [prod["needs"]]
    assert "deploy-dev" in needs, "prod deploys only what dev already took"
    assert cd["permissions"] == {"contents": "read"}


def _deploy_jobs() -> tuple[dict[str, Any], dict[str, Any]]:
    jobs = load("deploy.yml")["jobs"]
    return jobs["plan"], jobs["apply"]


def test_plan_then_approve_then_apply_the_saved_plan() -> None:
    plan, apply = _deploy_jobs()
    # the plan runs read-only in its own environment, before anyone approves
    assert plan["environment"] == "${{ inputs.environment }}-plan"
    assert "tofu plan -input=false -lock-timeout=5m -out=tfplan" in run_lines(plan)
    (upload,) = [s for s in plan["steps"] if "upload-artifact" in s.get("uses", "")]
    assert "tfplan" in upload["with"]["path"]
    roles = [
        s["with"]["role-to-assume"]
        for s in plan["steps"]
        if "with" in s and "role-to-assume" in s["with"]
    ]
    assert roles == ["${{ vars.AWS_PLAN_ROLE_ARN }}"]
    # the apply job is gated by the environment ("prod": required reviewers) and applies
    # exactly the uploaded plan
    assert apply["needs"] == ["plan"]
    assert apply["environment"] == "${{ inputs.environment }}"
    downloads = [s for s in apply["steps"] if "download-artifact" in s.get("uses", "")]
    assert any(s["with"]["name"] == "tfplan-${{ inputs.environment }}" for s in downloads)
    (apply_step,) = [s for s in apply["steps"] if s.get("name") == "tofu apply"]
    assert apply_step["run"].strip() == "tofu apply -input=false -lock-timeout=5m tfplan"
    assert "tofu plan" not in run_lines(apply)


def test_deployments_run_only_from_main() -> None:
    cd = load("cd.yml")
    assert cd["on"] == {"push": {"branches": ["main"]}}, "no dispatch from other branches"
    assert cd["jobs"]["build"]["if"] == "github.ref == 'refs/heads/main'"
    for job in load("deploy.yml")["jobs"].values():
        assert job["if"] == "github.ref == 'refs/heads/main'"


def test_aws_access_is_oidc_only() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert not re.search(r"aws-access-key-id|AWS_ACCESS_KEY_ID|aws-secret-access-key", text), (
            path.name
        )
    deploy = load("deploy.yml")
    assert deploy["permissions"] == {"contents": "read"}
    for job in deploy["jobs"].values():
        assert job["permissions"]["id-token"] == "write"
        creds = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
        assert creds and all("role-to-assume" in s["with"] for s in creds)
    for caller in ("deploy-dev", "deploy-prod"):
        assert load("cd.yml")["jobs"][caller]["permissions"]["id-token"] == "write"


def test_cd_pushes_to_ecr_and_uploads_jobs_dags_and_trino_rules() -> None:
    _, apply = _deploy_jobs()
    runs = run_lines(apply)
    assert "docker push" in runs
    for prefix in ("jobs", "dags", "trino"):
        assert re.search(rf"s3://\$\{{BUCKET\}}/{prefix}/", runs), prefix
    assert any("amazon-ecr-login" in s.get("uses", "") for s in apply["steps"])
    build = run_lines(load("cd.yml")["jobs"]["build"])
    assert "access_rules(API_TABLES)" in build and "dist/trino/rules.json" in build


def test_actions_are_pinned_by_commit_sha() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*([^\s#]+)(.*)", line)
            if not match or match.group(1).startswith("./"):
                continue
            action, comment = match.groups()
            assert re.search(r"@[0-9a-f]{40}$", action), f"{path.name}: {action}"
            assert re.search(r"#\s*v\d", comment), f"{path.name}: {action} needs a # vX comment"


def test_ci_installs_from_the_hashed_lockfile() -> None:
    ci = load("ci.yml")
    for name in ("lint", "test", "infra"):
        runs = run_lines(ci["jobs"][name])
        assert "--require-hashes --no-deps -r requirements/dev.lock" in runs, name
        assert "make install" not in runs, name
    lock = (WORKFLOWS.parents[1] / "requirements" / "dev.lock").read_text()
    assert re.search(r"^uv==", lock, re.M), "the lock tool is a dev dependency"
    build = run_lines(load("cd.yml")["jobs"]["build"])
    assert "--require-hashes" in build and "runtime.lock" in build
