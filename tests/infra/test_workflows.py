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


def test_prod_requires_approval_via_its_github_environment() -> None:
    deploy = load("deploy.yml")
    (job,) = deploy["jobs"].values()
    # The job is bound to the GitHub environment named by the caller; "prod" carries the
    # required reviewers, so nothing in this job (AWS role, plan, apply) runs before approval.
    assert job["environment"] == "${{ inputs.environment }}"
    steps = [s.get("name", "") for s in job["steps"]]
    assert steps.index("tofu plan") < steps.index("tofu apply")
    assert "tfplan" in job["steps"][steps.index("tofu apply")]["run"], "apply the reviewed plan"


def test_aws_access_is_oidc_only() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert not re.search(r"aws-access-key-id|AWS_ACCESS_KEY_ID|aws-secret-access-key", text), (
            path.name
        )
    deploy = load("deploy.yml")
    assert deploy["permissions"]["id-token"] == "write"
    (job,) = deploy["jobs"].values()
    creds = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert len(creds) == 2
    assert all("role-to-assume" in s["with"] for s in creds)
    for caller in ("deploy-dev", "deploy-prod"):
        assert load("cd.yml")["jobs"][caller]["permissions"]["id-token"] == "write"


def test_cd_pushes_to_ecr_and_uploads_jobs_and_dags() -> None:
    (job,) = load("deploy.yml")["jobs"].values()
    runs = run_lines(job)
    assert "docker push" in runs
    assert re.search(r"s3://\$\{BUCKET\}/jobs/", runs)
    assert re.search(r"s3://\$\{BUCKET\}/dags/", runs)
    assert any("amazon-ecr-login" in s.get("uses", "") for s in job["steps"])


def test_actions_are_pinned_to_a_version() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for action in re.findall(r"uses:\s*([^\s#]+)", path.read_text()):
            if action.startswith("./"):
                continue
            assert re.search(r"@(v\d+|[0-9a-f]{40})$", action), f"{path.name}: {action}"
