"""Static properties of terraform/: storage security, IAM least privilege, pins, wiring.

`tofu validate` needs the providers, which cannot be fetched everywhere; the wiring tests at
the end stand in for its reference checks (variables, outputs, resources, module inputs).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.hcl import (
    ENVS,
    MODULES,
    TfDir,
    all_dirs,
    env_dirs,
    first,
    load_dir,
    module_dirs,
    ref,
    root_dirs,
)

# S3 server access logging and ALB access logs only accept SSE-S3 on their target bucket.
SSE_S3_LOG_BUCKETS = {("storage", "logs")}
READ_ONLY_VERBS = ("Get", "List", "Describe", "BatchGet", "BatchCheck", "Head")
META_ARGS = {"source", "count", "for_each", "providers", "depends_on", "version"}


def _dir_name(tf: TfDir) -> str:
    return tf.path.name


def _buckets() -> list[Any]:
    return [
        pytest.param(load_dir(p), name, id=f"{p.name}.{name}")
        for p in module_dirs()
        for name in load_dir(p).of_type("aws_s3_bucket")
    ]


def _for_bucket(tf: TfDir, rtype: str, bucket: str) -> dict[str, Any]:
    """The `rtype` resource of `tf` attached to aws_s3_bucket.<bucket>."""
    matches = [
        body
        for body in tf.of_type(rtype).values()
        if ref(body.get("bucket")) == f"aws_s3_bucket.{bucket}.id"
    ]
    assert len(matches) == 1, f"{tf.path.name}: aws_s3_bucket.{bucket} needs exactly one {rtype}"
    return matches[0]


def test_there_are_buckets_and_both_environments() -> None:
    assert len(_buckets()) >= 2
    assert {p.name for p in env_dirs()} >= {"dev", "prod"}


@pytest.mark.parametrize(("tf", "bucket"), _buckets())
def test_bucket_baseline(tf: TfDir, bucket: str) -> None:
    versioning = _for_bucket(tf, "aws_s3_bucket_versioning", bucket)
    assert first(versioning["versioning_configuration"])["status"] == "Enabled"

    pab = _for_bucket(tf, "aws_s3_bucket_public_access_block", bucket)
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert pab[flag] is True, f"{bucket}: {flag}"

    sse = _for_bucket(tf, "aws_s3_bucket_server_side_encryption_configuration", bucket)
    default = first(first(sse["rule"])["apply_server_side_encryption_by_default"])
    if (_dir_name(tf), bucket) in SSE_S3_LOG_BUCKETS:
        assert default["sse_algorithm"] == "AES256"
    else:
        assert default["sse_algorithm"] == "aws:kms"
        assert default.get("kms_master_key_id")

    ownership = _for_bucket(tf, "aws_s3_bucket_ownership_controls", bucket)
    assert first(ownership["rule"])["object_ownership"] == "BucketOwnerEnforced"

    lifecycle = _for_bucket(tf, "aws_s3_bucket_lifecycle_configuration", bucket)
    assert lifecycle["rule"], "lifecycle rules"

    policy = _for_bucket(tf, "aws_s3_bucket_policy", bucket)
    doc_ref = ref(policy["policy"])
    match = re.fullmatch(r"data\.aws_iam_policy_document\.(\w+)\.json", doc_ref)
    assert match, f"{bucket}: bucket policy must come from an aws_iam_policy_document"
    statements = tf.data[("aws_iam_policy_document", match.group(1))]["statement"]
    tls_denies = [
        s
        for s in statements
        if s.get("effect") == "Deny"
        and "s3:*" in s["actions"]
        and any(
            c["variable"] == "aws:SecureTransport" and c["values"] == ["false"]
            for c in s.get("condition", [])
        )
    ]
    assert tls_denies, f"{bucket}: no TLS-only (aws:SecureTransport=false) deny statement"
    resources = {ref(r) for r in tls_denies[0]["resources"]}
    assert f"aws_s3_bucket.{bucket}.arn" in resources, "deny must cover the bucket"
    assert any(r.endswith("/*") for r in resources), "deny must cover the objects"


@pytest.mark.parametrize(("tf", "bucket"), _buckets())
def test_bucket_access_logging(tf: TfDir, bucket: str) -> None:
    if (_dir_name(tf), bucket) in SSE_S3_LOG_BUCKETS:
        # The log sink itself: every other bucket logs into it.
        return
    logging = _for_bucket(tf, "aws_s3_bucket_logging", bucket)
    assert logging["target_bucket"]


def test_log_sink_is_the_logging_target_of_every_data_bucket() -> None:
    storage = load_dir(MODULES / "storage")
    for name in ("landing", "lakehouse", "artifacts"):
        assert ref(storage.modules[name]["access_log_bucket"]) == "aws_s3_bucket.logs.id"
        assert storage.modules[name]["source"] == "../s3_bucket"


def test_landing_bucket_has_object_lock() -> None:
    bucket_module = load_dir(MODULES / "s3_bucket")
    bucket = bucket_module.of_type("aws_s3_bucket")["this"]
    assert ref(bucket["object_lock_enabled"]) == "var.object_lock_days != null"
    lock = bucket_module.of_type("aws_s3_bucket_object_lock_configuration")["this"]
    retention = first(first(lock["rule"])["default_retention"])
    assert retention["mode"] == "COMPLIANCE"

    storage = load_dir(MODULES / "storage")
    assert ref(storage.modules["landing"]["object_lock_days"]) == "var.landing_object_lock_days"
    assert "object_lock_days" not in storage.modules["lakehouse"]  # Delta needs deletes (VACUUM)
    for env in env_dirs():
        days = load_dir(env).modules["storage"]["landing_object_lock_days"]
        assert isinstance(days, int) and days > 0, env.name


def test_kms_keys_rotate() -> None:
    keys = [
        (p.name, body) for p in all_dirs() for body in load_dir(p).of_type("aws_kms_key").values()
    ]
    assert keys
    for where, key in keys:
        assert key["enable_key_rotation"] is True, where


def test_secrets_use_a_cmk() -> None:
    secrets = load_dir(MODULES / "secrets").of_type("aws_secretsmanager_secret")
    assert secrets
    for secret in secrets.values():
        assert ref(secret["kms_key_id"]).startswith("var.")
    for env in env_dirs():
        root = load_dir(env)
        assert root.modules["secrets"]["kms_key_arn"] == "${module.kms_secrets.key_arn}"
        assert "FINLAKE_API_KEYS" not in root.text, "API keys only live in Secrets Manager"


# --- IAM ------------------------------------------------------------------------------------
def _policy_documents() -> list[Any]:
    return [
        pytest.param(path.name, name, body, id=f"{path.name}.{name}")
        for path in all_dirs()
        for (dtype, name), body in load_dir(path).data.items()
        if dtype == "aws_iam_policy_document"
    ]


def _is_key_policy(module: str, name: str) -> bool:
    """KMS key policies: there Resource "*" means the key itself."""
    tf = load_dir(MODULES / module)
    return any(
        ref(key.get("policy")) == f"data.aws_iam_policy_document.{name}.json"
        for key in tf.of_type("aws_kms_key").values()
    )


def _is_permissions_boundary(module: str, name: str) -> bool:
    """Boundary policies cap other policies; their Allow "*" grants nothing by itself."""
    tf = load_dir(MODULES / module)
    return any(
        ref(policy.get("policy")) == f"data.aws_iam_policy_document.{name}.json"
        and str(policy.get("name", "")).endswith("-boundary")
        for policy in tf.of_type("aws_iam_policy").values()
    )


def _is_resource_policy(statement: dict[str, Any]) -> bool:
    return "principals" in statement


@pytest.mark.parametrize(("module", "name", "doc"), _policy_documents())
def test_no_wildcard_action_or_write_on_any_resource(
    module: str, name: str, doc: dict[str, Any]
) -> None:
    if _is_key_policy(module, name) or _is_permissions_boundary(module, name):
        return
    for statement in doc.get("statement", []):
        if statement.get("effect", "Allow") != "Allow":
            continue
        actions = statement.get("actions", [])
        assert "*" not in actions, f"{module}.{name}: Action '*'"
        for action in actions:
            assert action.split(":", 1)[-1] != "*" or _is_resource_policy(statement), (
                f"{module}.{name}: service-wide {action} in an identity policy"
            )
        resources = statement.get("resources", [])
        # A computed list (concat/for) is an expression string: it holds no literal "*".
        if isinstance(resources, list) and "*" in resources:
            writes = [a for a in actions if not a.split(":", 1)[-1].startswith(READ_ONLY_VERBS)]
            assert not writes or statement.get("condition"), (
                f"{module}.{name}: write actions {writes} on Resource '*' without a condition"
            )


def test_every_inline_role_policy_is_a_reviewed_policy_document() -> None:
    for path in all_dirs():
        for name, body in load_dir(path).of_type("aws_iam_role_policy").items():
            assert re.fullmatch(r"data\.aws_iam_policy_document\.\w+\.json", ref(body["policy"])), (
                f"{path.name}.{name}: inline jsonencode policies escape the least-privilege tests"
            )


def test_no_administrator_access_is_attached() -> None:
    for path in all_dirs():
        assert "AdministratorAccess" not in load_dir(path).text, path.name


def test_github_roles_trust_only_main_of_this_repository_environment() -> None:
    iam = load_dir(MODULES / "iam")
    trust = iam.data[("aws_iam_policy_document", "assume_from_environment")]
    statement = trust["statement"][0]
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    subject = next(c for c in statement["condition"] if c["variable"].endswith(":sub"))
    assert subject["test"] == "StringEquals"
    assert subject["values"] == [
        "repo:${var.github_repository}:environment:${var.github_environment}:ref:refs/heads/main"
    ]
    assert "aws_iam_access_key" not in iam.text
    roles = iam.of_type("aws_iam_role")
    for name in ("deploy", "terraform"):
        assert ref(roles[name]["assume_role_policy"]).endswith("assume_from_environment.json")
    # the read-only plan role has its own environment (no approval needed to read)
    assert ref(roles["plan"]["assume_role_policy"]).endswith("assume_for_plan.json")


# --- services -------------------------------------------------------------------------------
def test_api_is_https_only_behind_a_waf() -> None:
    api = load_dir(MODULES / "api_ecs")
    listeners = api.of_type("aws_lb_listener")
    assert listeners
    for listener in listeners.values():
        assert listener["protocol"] == "HTTPS" and listener["port"] == 443
        assert listener["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")
    assert api.of_type("aws_wafv2_web_acl_association")
    service = api.of_type("aws_ecs_service")["api"]
    assert first(service["network_configuration"])["assign_public_ip"] is False
    task = api.of_type("aws_ecs_task_definition")["api"]
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert "readonlyRootFilesystem = true" in api.text
    assert "valueFrom = var.api_keys_secret_arn" in api.text  # keys come from Secrets Manager


def test_managed_services_are_declared() -> None:
    expected = {
        "emr_serverless": "aws_emrserverless_application",
        "mwaa": "aws_mwaa_environment",
        "api_ecs": "aws_ecs_service",
        "trino": "aws_emr_cluster",
        "catalog": "aws_glue_catalog_database",
        "monitoring": "aws_cloudwatch_metric_alarm",
        "secrets": "aws_secretsmanager_secret",
    }
    for module, rtype in expected.items():
        assert load_dir(MODULES / module).of_type(rtype), f"{module}: {rtype}"


def test_trino_uses_glue_as_delta_metastore() -> None:
    trino = load_dir(MODULES / "trino")
    cluster = trino.of_type("aws_emr_cluster")["trino"]
    assert cluster["applications"] == ["Trino"]
    assert '"trino-connector-delta"' in trino.text and '"hive.metastore"' in trino.text
    assert re.search(r'"hive\.metastore"\s*=\s*"glue"', trino.text)


def test_log_groups_are_encrypted_and_retained() -> None:
    groups = [
        (p.name, name, body)
        for p in all_dirs()
        for name, body in load_dir(p).of_type("aws_cloudwatch_log_group").items()
    ]
    assert groups
    for where, name, group in groups:
        assert group.get("kms_key_id"), f"{where}.{name}"
        assert group.get("retention_in_days"), f"{where}.{name}"


def test_mwaa_web_server_is_private_and_logs_everything() -> None:
    mwaa = load_dir(MODULES / "mwaa").of_type("aws_mwaa_environment")["this"]
    assert mwaa["webserver_access_mode"] == "PRIVATE_ONLY"
    logging = first(mwaa["logging_configuration"])
    for kind in (
        "dag_processing_logs",
        "scheduler_logs",
        "task_logs",
        "webserver_logs",
        "worker_logs",
    ):
        assert first(logging[kind])["enabled"] is True, kind


# --- pins and wiring ------------------------------------------------------------------------
@pytest.mark.parametrize("env", root_dirs(), ids=lambda p: f"{p.parent.name}.{p.name}")
def test_roots_pin_provider_and_use_locked_encrypted_state(env: Path) -> None:
    (terraform,) = load_dir(env).terraform
    aws = first(terraform["required_providers"])["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert re.fullmatch(r"\d+\.\d+\.\d+", aws["version"]), "exact provider version in roots"
    backend = first(terraform["backend"])["s3"]
    assert backend["encrypt"] is True and backend["use_lockfile"] is True
    prefix = "finlake" if env.parent.name == "envs" else "finlake-bootstrap"
    assert backend["key"] == f"{prefix}/{env.name}/terraform.tfstate"


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_modules_bound_the_provider_major_version(module: Path) -> None:
    (terraform,) = load_dir(module).terraform
    version = first(terraform["required_providers"])["aws"]["version"]
    assert re.fullmatch(r">= \d+\.\d+\.\d+, < \d+\.0\.0", version), version


def _module_calls() -> list[Any]:
    return [
        pytest.param(path, name, body, id=f"{path.name}.{name}")
        for path in all_dirs()
        for name, body in load_dir(path).modules.items()
    ]


@pytest.mark.parametrize(("caller", "name", "call"), _module_calls())
def test_module_calls_match_the_module_interface(
    caller: Path, name: str, call: dict[str, Any]
) -> None:
    target = (caller / call["source"]).resolve()
    assert target.is_dir(), f"{caller.name}: module {name} source {call['source']}"
    module = load_dir(target)
    passed = set(call) - META_ARGS
    unknown = passed - set(module.variables)
    assert not unknown, f"{caller.name}.{name}: unknown inputs {sorted(unknown)}"
    required = {v for v, body in module.variables.items() if "default" not in body}
    missing = required - passed
    assert not missing, f"{caller.name}.{name}: missing inputs {sorted(missing)}"


@pytest.mark.parametrize("path", all_dirs(), ids=lambda p: p.name)
def test_references_resolve(path: Path) -> None:
    tf = load_dir(path)
    text = re.sub(r"#.*", "", tf.text)
    for var in set(re.findall(r"\bvar\.(\w+)", text)):
        assert var in tf.variables, f"{path.name}: var.{var} is not declared"
    for mod, output in set(re.findall(r"\bmodule\.(\w+)\.(\w+)", text)):
        assert mod in tf.modules, f"{path.name}: module.{mod} is not declared"
        target = load_dir((path / tf.modules[mod]["source"]).resolve())
        assert output in target.outputs, f"{path.name}: module.{mod}.{output} is not an output"
    for dtype, name in set(re.findall(r"\bdata\.(aws_\w+)\.(\w+)", text)):
        assert (dtype, name) in tf.data, f"{path.name}: data.{dtype}.{name} is not declared"
    declared = {rtype for rtype, _ in tf.resources}
    for rtype, name in set(re.findall(r"(?<![\w.\"/-])(aws_[a-z0-9_]+)\.([a-z0-9_]+)\b", text)):
        if rtype in declared or (rtype, name) in tf.resources:
            assert (rtype, name) in tf.resources, f"{path.name}: {rtype}.{name} is not declared"
    for local in set(re.findall(r"\blocal\.(\w+)", text)):
        assert re.search(rf"^\s*{local}\s*=", text, re.M), f"{path.name}: local.{local} undefined"


def test_environments_differ_only_in_sizing() -> None:
    dev, prod = load_dir(ENVS / "dev"), load_dir(ENVS / "prod")
    assert set(dev.modules) == set(prod.modules)
    assert set(dev.variables) == set(prod.variables)
    assert prod.modules["network"]["single_nat_gateway"] is False
    assert prod.modules["api"]["desired_count"] >= 2
    assert prod.modules["api"]["deletion_protection"] is True
    assert prod.modules["trino"]["termination_protection"] is True
