"""Security guardrails of terraform/: IAM boundaries, CI roles, KMS, landing write-once, Trino.

Static checks of the parsed HCL (python-hcl2): each test names the rule of the security review
(issue 17) it proves; `tofu validate` and checkov run in `make lint-infra`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.hcl import (
    BOOTSTRAP,
    ENVS,
    MODULES,
    REPO,
    TERRAFORM,
    TfDir,
    all_dirs,
    env_dirs,
    first,
    load_dir,
    module_dirs,
    ref,
    root_dirs,
)


def _doc(tf: TfDir, name: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = tf.data[("aws_iam_policy_document", name)]["statement"]
    return statements


def _sid(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    (statement,) = [s for s in statements if s.get("sid") == sid]
    return statement


def _lifecycle(resource: dict[str, Any]) -> dict[str, Any]:
    return first(resource.get("lifecycle", [{}]))


# --- KMS --------------------------------------------------------------------------------------
def test_kms_keys_deny_destruction_to_all_but_the_break_glass_role() -> None:
    kms = load_dir(MODULES / "kms")
    (key,) = kms.of_type("aws_kms_key").values()
    assert ref(key["policy"]) == "data.aws_iam_policy_document.key.json"
    deny = _sid(_doc(kms, "key"), "DenyKeyDestructionExceptBreakGlass")
    assert deny["effect"] == "Deny"
    assert ref(deny["actions"]) == "local.protected_actions"
    protected = re.search(r"protected_actions\s*=\s*\[(.*?)\]", kms.text, re.S)
    assert protected
    for action in ("kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"):
        assert f'"{action}"' in protected.group(1), action
    assert first(deny["principals"]) == {"type": "AWS", "identifiers": ["*"]}
    (condition,) = deny["condition"]
    assert (condition["test"], condition["variable"]) == ("ArnNotEquals", "aws:PrincipalArn")
    assert condition["values"] == ["${var.break_glass_role_arn}"]
    assert "default" not in kms.variables["break_glass_role_arn"], "required, no default"


def test_kms_keys_and_data_buckets_cannot_be_destroyed_by_a_plan() -> None:
    (key,) = load_dir(MODULES / "kms").of_type("aws_kms_key").values()
    assert _lifecycle(key)["prevent_destroy"] is True
    bucket = load_dir(MODULES / "s3_bucket").of_type("aws_s3_bucket")["this"]
    assert _lifecycle(bucket)["prevent_destroy"] is True
    storage = load_dir(MODULES / "storage")
    assert storage.modules["landing"]["source"] == "../s3_bucket"  # the landing bucket is one


@pytest.mark.parametrize("env", env_dirs(), ids=lambda p: p.name)
def test_every_key_of_an_environment_names_the_break_glass_role(env: Path) -> None:
    keys = {n: m for n, m in load_dir(env).modules.items() if m["source"] == "../../modules/kms"}
    assert set(keys) == {"kms_data", "kms_logs", "kms_secrets"}
    for name, call in keys.items():
        assert call["break_glass_role_arn"] == "${var.break_glass_role_arn}", name


# --- landing: write-once enforced by the bucket ------------------------------------------------
def test_landing_bucket_denies_puts_without_if_none_match() -> None:
    storage = load_dir(MODULES / "storage")
    assert ref(storage.modules["landing"]["extra_policy_json"]) == (
        "data.aws_iam_policy_document.landing_write_once.json"
    )
    statements = _doc(storage, "landing_write_once")
    missing = _sid(statements, "DenyLandingPutWithoutIfNoneMatch")
    other = _sid(statements, "DenyLandingPutWithOtherIfNoneMatch")
    for statement in (missing, other):
        assert statement["effect"] == "Deny" and statement["actions"] == ["s3:PutObject"]
        assert first(statement["principals"]) == {"type": "*", "identifiers": ["*"]}
        (resource,) = statement["resources"]
        assert resource.endswith("-landing/landing/*")
    assert missing["condition"] == [
        {"test": "Null", "variable": "s3:if-none-match", "values": ["true"]}
    ]
    assert other["condition"] == [
        {"test": "StringNotEqualsIfExists", "variable": "s3:if-none-match", "values": ["*"]}
    ]
    # the lakehouse (Delta rewrites files) and artifacts buckets keep ordinary puts
    assert "extra_policy_json" not in storage.modules["lakehouse"]


def test_api_task_role_writes_only_write_once_landing_objects() -> None:
    api = load_dir(MODULES / "api_ecs")
    statements = _doc(api, "task")
    writes = [s for s in statements if any(a in s["actions"] for a in ("s3:PutObject", "s3:*"))]
    assert [s["sid"] for s in writes] == ["LandEventsWriteOnce"]
    (write,) = writes
    assert write["actions"] == ["s3:PutObject"]
    assert write["condition"] == [
        {"test": "Null", "variable": "s3:if-none-match", "values": ["false"]}
    ]
    assert write["resources"] == [
        "${var.landing_bucket_arn}/landing/events/*",
        "${var.landing_bucket_arn}/landing/_idempotency/*",
    ]
    kms = _sid(statements, "EncryptLandedObjects")
    assert kms["condition"][0]["variable"] == "kms:ViaService"
    assert not any("lakehouse" in str(s["resources"]) for s in statements)


# --- IAM: boundaries, CI roles, accounts -------------------------------------------------------
def _roles(tf: TfDir) -> dict[str, dict[str, Any]]:
    return tf.of_type("aws_iam_role")


@pytest.mark.parametrize(
    "module", [p for p in module_dirs() if p.name != "iam"], ids=lambda p: p.name
)
def test_every_workload_role_carries_the_required_boundary(module: Path) -> None:
    tf = load_dir(module)
    for name, role in _roles(tf).items():
        assert role.get("permissions_boundary") == "${var.permissions_boundary_arn}", name
    if _roles(tf):
        assert "default" not in tf.variables["permissions_boundary_arn"], "boundary is required"


def test_ci_roles_carry_the_ci_boundary() -> None:
    roles = _roles(load_dir(MODULES / "iam"))
    assert set(roles) == {"deploy", "plan", "terraform", "break_glass"}
    for name in ("deploy", "plan", "terraform"):
        assert ref(roles[name]["permissions_boundary"]) == "aws_iam_policy.ci_boundary.arn", name
    # the break-glass role is assumed by people with MFA only
    trust = _doc(load_dir(MODULES / "iam"), "assume_break_glass")[0]
    assert {c["variable"] for c in trust["condition"]} == {
        "aws:MultiFactorAuthPresent",
        "aws:MultiFactorAuthAge",
    }


def test_ci_roles_cannot_modify_themselves_nor_the_guardrails() -> None:
    iam = load_dir(MODULES / "iam")
    guarded = {"${local.ci_roles}", "${local.break_glass}", "${local.boundaries}"}
    assert re.search(
        r'ci_roles\s*=\s*"\$\{local\.iam_prefix\}:role/\$\{var\.name\}-gha-\*"', iam.text
    )
    for doc in ("ci_boundary", "terraform"):
        statements = _doc(iam, doc)
        denies = [s for s in statements if s.get("effect") == "Deny" and "iam:*" in s["actions"]]
        assert denies and set(denies[0]["resources"]) == guarded, doc
    boundary = _doc(iam, "ci_boundary")
    create = _sid(boundary, "RolesOnlyUnderTheWorkloadBoundary")
    assert create["effect"] == "Deny" and "iam:CreateRole" in create["actions"]
    assert create["condition"][0] == {
        "test": "StringNotEquals",
        "variable": "iam:PermissionsBoundary",
        "values": ["${local.workload_boundary_arn}"],
    }
    assert (
        "iam:DeleteRolePermissionsBoundary"
        in _sid(boundary, "NoLongLivedCredentialsOrAccountChanges")["actions"]
    )
    assert _sid(boundary, "NoKeyDestruction")["actions"] == "${local.kms_destruction}"
    assert '"kms:ScheduleKeyDeletion"' in iam.text
    # every IAM write the terraform role may do needs the workload boundary on the role
    for statement in _doc(iam, "terraform"):
        if statement.get("effect", "Allow") != "Allow":
            continue
        writes = {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"}
        if writes & set(statement["actions"]):
            assert statement["condition"][0]["variable"] == "iam:PermissionsBoundary"
        if "iam:PassRole" in statement["actions"]:
            assert statement["condition"][0]["variable"] == "iam:PassedToService"


def test_the_workload_boundary_denies_privilege_escalation() -> None:
    statements = _doc(load_dir(MODULES / "iam"), "workload_boundary")
    deny = _sid(statements, "NoIdentityOrKeyAdministration")
    actions = deny["actions"] if isinstance(deny["actions"], str) else " ".join(deny["actions"])
    for action in (
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:CreateAccessKey",
        "iam:UpdateAssumeRolePolicy",
    ):
        assert action in actions, action
    passing = _sid(statements, "NeverPassTheGuardedRoles")
    assert set(passing["resources"]) == {"${local.ci_roles}", "${local.break_glass}"}


def test_the_plan_role_reads_no_data_or_secrets() -> None:
    iam = load_dir(MODULES / "iam")
    deny = _sid(_doc(iam, "plan"), "NoDataOrSecrets")
    assert deny["effect"] == "Deny"
    assert {"s3:GetObject", "secretsmanager:GetSecretValue", "kms:Decrypt"} <= set(deny["actions"])
    attachment = iam.of_type("aws_iam_role_policy_attachment")["plan_read_only"]
    assert attachment["policy_arn"].endswith(":iam::aws:policy/ReadOnlyAccess")


@pytest.mark.parametrize("root", root_dirs(), ids=lambda p: f"{p.parent.name}.{p.name}")
def test_each_environment_is_pinned_to_its_own_account(root: Path) -> None:
    tf = load_dir(root)
    (provider,) = [p for p in tf.providers if "region" in p]
    assert provider["allowed_account_ids"] == ["${var.aws_account_id}"]
    validation = first(tf.variables["aws_account_id"]["validation"])
    assert "[0-9]{12}" in validation["condition"]


def test_ci_roles_live_in_the_bootstrap_roots_only() -> None:
    for env in env_dirs():
        assert "iam" not in load_dir(env).modules, f"{env.name}: CI could edit its own roles"
    bootstraps = sorted(p.name for p in BOOTSTRAP.iterdir() if p.is_dir())
    assert bootstraps == sorted(p.name for p in ENVS.iterdir() if p.is_dir())
    for root in BOOTSTRAP.iterdir():
        call = load_dir(root).modules["iam"]
        assert call["github_environment"] == "${local.env}"
        assert call["break_glass_principal_arns"] == "${var.break_glass_principal_arns}"


# --- Trino ------------------------------------------------------------------------------------
def test_trino_instance_role_reads_gold_and_ops_only_and_cannot_change_the_catalog() -> None:
    trino = load_dir(MODULES / "trino")
    statements = _doc(trino, "instance")
    actions = {a for s in statements for a in s["actions"]}
    assert not {a for a in actions if re.match(r"glue:(Create|Update|Delete|Batch)", a)}
    assert not {a for a in actions if re.match(r"s3:(Put|Delete)Object", a)} - {"s3:PutObject"}
    (put,) = [s for s in statements if "s3:PutObject" in s["actions"]]
    assert put["resources"] == ["${var.logs_bucket_arn}/emr-trino/*"]
    read = _sid(statements, "ReadServedDeltaTables")
    assert "var.served_prefixes" in str(read["resources"])
    assert trino.variables["served_prefixes"]["default"] == ["gold", "ops"]
    listing = _sid(statements, "ListServedPrefixes")
    assert listing["condition"][0]["variable"] == "s3:prefix"
    for env in env_dirs():
        call = load_dir(env).modules["trino"]
        assert "gold" in call["glue_database_names"] and "ops" in call["glue_database_names"]
        assert "silver" not in call["glue_database_names"]


def test_trino_port_is_open_to_the_api_and_analysts_only() -> None:
    trino = load_dir(MODULES / "trino")
    ingress = trino.of_type("aws_vpc_security_group_ingress_rule")
    coordinator = {
        n: r
        for n, r in ingress.items()
        if ref(r["security_group_id"]) == "aws_security_group.primary.id"
    }
    assert set(coordinator) == {"coordinator_from_clients", "coordinator_from_analysts"}
    assert (
        ref(coordinator["coordinator_from_clients"]["referenced_security_group_id"]) == "each.value"
    )
    assert ref(coordinator["coordinator_from_analysts"]["cidr_ipv4"]) == "each.value"
    assert "vpc_cidr_block" not in trino.variables
    assert "0.0.0.0/" in trino.variables["analyst_cidrs"]["validation"][0]["condition"]
    for env in env_dirs():
        call = load_dir(env).modules["trino"]
        assert call["client_security_group_ids"] == ["${module.api.tasks_security_group_id}"]


def test_trino_authenticates_clients_and_its_catalog_is_read_only() -> None:
    trino = load_dir(MODULES / "trino")
    assert re.search(r'"http-server\.authentication\.type"\s*=\s*"PASSWORD"', trino.text)
    assert re.search(r'"delta\.security"\s*=\s*"read-only"', trino.text)
    assert re.search(r'"delta\.register-table-procedure\.enabled"\s*=\s*"false"', trino.text)
    cluster = trino.of_type("aws_emr_cluster")["trino"]
    step = first(cluster["step"])
    assert step["name"] == "finlake-trino-security"
    assert "emr-configure-security.sh" in str(first(step["hadoop_jar_step"])["args"])
    script = (REPO / "conf" / "trino" / "emr-configure-security.sh").read_text()
    for line in ("password-authenticator.name=file", "access-control.name=file"):
        assert line in script
    api = load_dir(MODULES / "api_ecs")
    assert '{ name = "FINLAKE_TRINO_SCHEME", value = "https" }' in api.text
    assert "valueFrom = var.trino_password_secret_arn" in api.text


# --- the API behind the load balancer ---------------------------------------------------------
def test_the_load_balancer_refuses_operator_paths() -> None:
    api = load_dir(MODULES / "api_ecs")
    rule = api.of_type("aws_lb_listener_rule")["no_operator_paths"]
    action = first(rule["action"])
    assert action["type"] == "fixed-response"
    assert first(action["fixed_response"])["status_code"] == "404"
    paths = first(first(rule["condition"])["path_pattern"])["values"]
    assert {"/metrics*", "/docs*", "/openapi.json"} <= set(paths)
    (target,) = api.of_type("aws_lb_target_group").values()
    assert target["port"] == "${local.container_port}"
    assert re.search(r"container_port\s*=\s*8000", api.text)


# --- checkov skips ----------------------------------------------------------------------------
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def test_every_checkov_skip_is_justified() -> None:
    skips = []
    for path in [*sorted(TERRAFORM.rglob("*.tf")), REPO / "Dockerfile"]:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if match := SKIP.search(line):
                check, reason = match.group(1), (match.group(2) or "").strip()
                skips.append((path.name, check))
                assert len(reason) >= 30, f"{path}:{number}: {check} needs a one-line reason"
    assert skips, "no skips parsed: the pattern is wrong"


@pytest.mark.parametrize("path", all_dirs(), ids=lambda p: f"{p.parent.name}.{p.name}")
def test_no_role_trusts_an_access_key_user(path: Path) -> None:
    assert "aws_iam_user" not in load_dir(path).text
    assert "aws_iam_access_key" not in load_dir(path).text
