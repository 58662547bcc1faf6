# Account guardrails of one finlake environment, applied once per account by an administrator
# from terraform/bootstrap/<env> (never by CI, which cannot change any of this):
#
#   permissions boundaries  <name>-workload-boundary  ceiling of every role the env root creates
#                           <name>-ci-boundary        ceiling of the GitHub Actions roles
#   <name>-gha-deploy       push the api image, upload jobs/ and dags/ artifacts
#   <name>-gha-plan         read-only: `tofu plan` on any pull request or push
#   <name>-gha-terraform    apply a reviewed plan; may create roles only under the workload
#                           boundary and can touch neither itself, the other CI roles, the
#                           boundaries nor the break-glass role
#   <name>-break-glass      humans with MFA: the only principal that may disable or delete a
#                           KMS key or change a key policy
#
# Each environment lives in its own AWS account (the roots pin allowed_account_ids), so a CI
# role of dev reaches nothing of prod.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition             = data.aws_partition.current.partition
  account_id            = data.aws_caller_identity.current.account_id
  region                = data.aws_region.current.region
  oidc_host             = "token.actions.githubusercontent.com"
  provider_arn          = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:${local.partition}:iam::${local.account_id}:oidc-provider/${local.oidc_host}"
  iam_prefix            = "arn:${local.partition}:iam::${local.account_id}"
  ci_roles              = "${local.iam_prefix}:role/${var.name}-gha-*"
  break_glass           = "${local.iam_prefix}:role/${var.name}-break-glass"
  boundaries            = "${local.iam_prefix}:policy/${var.name}-*-boundary"
  workload_boundary_arn = "${local.iam_prefix}:policy/${var.name}-workload-boundary"
  ci_boundary_arn       = "${local.iam_prefix}:policy/${var.name}-ci-boundary"
  # Names the env root gives its resources (the roles here exist before them).
  ecr_repository_arn   = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${var.name}-api"
  artifacts_bucket_arn = "arn:${local.partition}:s3:::airflow-${var.name}-${local.account_id}-artifacts"
  data_key_alias       = "alias/${var.name}-data"
  kms_destruction = [
    "kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKeyRotation",
    "kms:DeleteImportedKeyMaterial",
  ]
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  tags           = var.tags
}

# --- permissions boundaries -----------------------------------------------------------------
# Boundaries only cap what identity policies grant: the Allow "*" statements grant nothing.
data "aws_iam_policy_document" "workload_boundary" {
  #checkov:skip=CKV_AWS_1:permissions boundary (a ceiling), not a grant: it is only attached as permissions_boundary
  #checkov:skip=CKV_AWS_49:permissions boundary (a ceiling): Allow "*" caps nothing extra; the roles' own policies grant
  #checkov:skip=CKV_AWS_107:permissions boundary (a ceiling): credentials exposure is granted only by the roles' own policies
  #checkov:skip=CKV_AWS_108:permissions boundary (a ceiling): data access is granted only by the roles' own scoped policies
  #checkov:skip=CKV_AWS_109:permissions boundary (a ceiling): IAM and KMS administration is denied below
  #checkov:skip=CKV_AWS_110:permissions boundary (a ceiling): the IAM writes that escalate privileges are denied below
  #checkov:skip=CKV_AWS_111:permissions boundary (a ceiling): writes are granted only by the roles' own scoped policies
  #checkov:skip=CKV_AWS_356:permissions boundary (a ceiling): "*" resources are granted only by the roles' own policies
  #checkov:skip=CKV2_AWS_40:permissions boundary (a ceiling): IAM writes are denied below
  statement {
    sid       = "Ceiling"
    actions   = ["*"]
    resources = ["*"]
  }

  # IAM writes that escalate privileges; iam:PassRole stays possible (the EMR service role
  # passes the cluster's instance role), but never of the CI or break-glass roles.
  statement {
    sid    = "NoIdentityOrKeyAdministration"
    effect = "Deny"
    actions = concat(
      [
        "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy",
        "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
        "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary", "iam:CreatePolicy", "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:CreateUser",
        "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
        "iam:AttachUserPolicy", "iam:PutUserPolicy", "iam:AddUserToGroup",
        "iam:AttachGroupPolicy", "iam:PutGroupPolicy", "iam:CreateOpenIDConnectProvider",
        "iam:CreateSAMLProvider", "organizations:*", "account:*",
      ],
      local.kms_destruction,
      ["kms:CreateKey", "kms:RevokeGrant"],
    )
    resources = ["*"]
  }

  statement {
    sid       = "NeverPassTheGuardedRoles"
    effect    = "Deny"
    actions   = ["iam:PassRole", "sts:AssumeRole"]
    resources = [local.ci_roles, local.break_glass]
  }
}

resource "aws_iam_policy" "workload_boundary" {
  name        = "${var.name}-workload-boundary"
  description = "Ceiling of every role created by the finlake ${var.environment} root"
  policy      = data.aws_iam_policy_document.workload_boundary.json
  tags        = var.tags
}

data "aws_iam_policy_document" "ci_boundary" {
  #checkov:skip=CKV_AWS_1:permissions boundary (a ceiling), not a grant: it is only attached as permissions_boundary
  #checkov:skip=CKV_AWS_49:permissions boundary (a ceiling): Allow "*" caps nothing extra; the roles' own policies grant
  #checkov:skip=CKV_AWS_107:permissions boundary (a ceiling): the CI roles' own policies grant the actual permissions
  #checkov:skip=CKV_AWS_108:permissions boundary (a ceiling): the CI roles' own policies grant the actual permissions
  #checkov:skip=CKV_AWS_109:permissions boundary (a ceiling): guardrail denies below
  #checkov:skip=CKV_AWS_110:permissions boundary (a ceiling): escalation paths are denied below
  #checkov:skip=CKV_AWS_111:permissions boundary (a ceiling): the CI roles' own policies grant the actual permissions
  #checkov:skip=CKV_AWS_356:permissions boundary (a ceiling): the CI roles' own policies grant the actual permissions
  #checkov:skip=CKV2_AWS_40:permissions boundary (a ceiling): IAM is limited to workload roles by the denies below
  statement {
    sid       = "Ceiling"
    actions   = ["*"]
    resources = ["*"]
  }

  statement {
    sid       = "NoSelfModification"
    effect    = "Deny"
    actions   = ["iam:*"]
    resources = [local.ci_roles, local.break_glass, local.boundaries]
  }

  statement {
    sid    = "NoLongLivedCredentialsOrAccountChanges"
    effect = "Deny"
    actions = [
      "iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
      "iam:AttachUserPolicy", "iam:PutUserPolicy", "iam:AddUserToGroup", "iam:CreateGroup",
      "iam:DeleteRolePermissionsBoundary", "iam:CreateOpenIDConnectProvider",
      "iam:UpdateOpenIDConnectProviderThumbprint", "iam:CreateSAMLProvider",
      "organizations:*", "account:*",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "RolesOnlyUnderTheWorkloadBoundary"
    effect    = "Deny"
    actions   = ["iam:CreateRole", "iam:PutRolePermissionsBoundary"]
    resources = ["*"]
    condition {
      test     = "StringNotEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.workload_boundary_arn]
    }
  }

  statement {
    sid       = "NoKeyDestruction"
    effect    = "Deny"
    actions   = local.kms_destruction
    resources = ["*"]
  }
}

resource "aws_iam_policy" "ci_boundary" {
  name        = "${var.name}-ci-boundary"
  description = "Ceiling of the GitHub Actions roles of finlake ${var.environment}"
  policy      = data.aws_iam_policy_document.ci_boundary.json
  tags        = var.tags
}

# --- GitHub OIDC trust ----------------------------------------------------------------------
# The repository's OIDC subject template includes the ref (docs/security.md), so a token says
# "repo:<repo>:environment:<env>:ref:refs/heads/main": only main, only through the GitHub
# environment (and its protection rules), can assume the deploying roles.
data "aws_iam_policy_document" "assume_from_environment" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_environment}:ref:refs/heads/main"]
    }
  }
}

# Plans run for every change before review: read-only, bound to its own environment.
data "aws_iam_policy_document" "assume_for_plan" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "${local.oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_environment}-plan:ref:*"]
    }
  }
}

# --- deploy role ----------------------------------------------------------------------------
resource "aws_iam_role" "deploy" {
  name                 = "${var.name}-gha-deploy"
  assume_role_policy   = data.aws_iam_policy_document.assume_from_environment.json
  permissions_boundary = aws_iam_policy.ci_boundary.arn
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # read-only; the action has no resource-level permissions
  }

  statement {
    sid = "PushImage"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
      "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart", "ecr:DescribeImages",
    ]
    resources = [local.ecr_repository_arn]
  }

  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [local.artifacts_bucket_arn]
  }

  statement {
    sid     = "UploadArtifacts"
    actions = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    resources = [
      "${local.artifacts_bucket_arn}/jobs/*", "${local.artifacts_bucket_arn}/dags/*",
      "${local.artifacts_bucket_arn}/trino/*",
    ]
  }

  statement {
    sid       = "EncryptArtifactsAndImages"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "kms:ResourceAliases"
      values   = [local.data_key_alias]
    }
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "finlake-deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

# --- plan role (read-only) ------------------------------------------------------------------
resource "aws_iam_role" "plan" {
  name                 = "${var.name}-gha-plan"
  assume_role_policy   = data.aws_iam_policy_document.assume_for_plan.json
  permissions_boundary = aws_iam_policy.ci_boundary.arn
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  role       = aws_iam_role.plan.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}/finlake/${var.github_environment}/*"]
  }

  statement {
    sid       = "LockState"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}/finlake/${var.github_environment}/*.tflock"]
  }

  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}"]
  }

  # Plans run code of unreviewed changes: metadata only, never data or secrets.
  statement {
    sid    = "NoDataOrSecrets"
    effect = "Deny"
    actions = [
      "s3:GetObject", "s3:GetObjectVersion", "secretsmanager:GetSecretValue", "kms:Decrypt",
      "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
    ]
    not_resources = ["arn:${local.partition}:s3:::${var.state_bucket}/finlake/${var.github_environment}/*"]
  }
}

resource "aws_iam_role_policy" "plan" {
  name   = "finlake-plan"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}

# --- terraform (apply) role -----------------------------------------------------------------
resource "aws_iam_role" "terraform" {
  name                 = "${var.name}-gha-terraform"
  assume_role_policy   = data.aws_iam_policy_document.assume_from_environment.json
  permissions_boundary = aws_iam_policy.ci_boundary.arn
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "terraform_services" {
  for_each = toset(var.terraform_managed_policy_arns)

  role       = aws_iam_role.terraform.name
  policy_arn = each.value
}

data "aws_iam_policy_document" "terraform" {
  statement {
    sid = "ManageWorkloadRolesUnderTheBoundary"
    actions = [
      "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
      "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
    ]
    resources = ["${local.iam_prefix}:role/${var.name}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.workload_boundary_arn]
    }
  }

  statement {
    sid = "ReadAndTagWorkloadRoles"
    actions = [
      "iam:GetRole", "iam:DeleteRole", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole",
      "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
      "iam:UpdateAssumeRolePolicy", "iam:ListInstanceProfilesForRole",
      "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile",
      "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
      "iam:TagInstanceProfile", "iam:GetPolicy", "iam:GetPolicyVersion",
    ]
    resources = [
      "${local.iam_prefix}:role/${var.name}-*",
      "${local.iam_prefix}:instance-profile/${var.name}-*",
      local.workload_boundary_arn,
      "arn:${local.partition}:iam::aws:policy/*",
    ]
  }

  statement {
    sid       = "PassWorkloadRolesToServices"
    actions   = ["iam:PassRole"]
    resources = ["${local.iam_prefix}:role/${var.name}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values = [
        "ecs-tasks.amazonaws.com", "elasticmapreduce.amazonaws.com", "ec2.amazonaws.com",
        "emr-serverless.amazonaws.com", "airflow.amazonaws.com", "vpc-flow-logs.amazonaws.com",
      ]
    }
  }

  statement {
    sid       = "ServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["${local.iam_prefix}:role/aws-service-role/*"]
  }

  # Belt and braces with the boundary: explicit denies on the CI roles themselves.
  statement {
    sid       = "NeverItselfNorTheGuardrails"
    effect    = "Deny"
    actions   = ["iam:*"]
    resources = [local.ci_roles, local.break_glass, local.boundaries]
  }

  statement {
    sid       = "TerraformState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}/finlake/${var.github_environment}/*"]
  }

  statement {
    sid       = "TerraformStateList"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}"]
  }
}

resource "aws_iam_role_policy" "terraform" {
  name   = "finlake-terraform"
  role   = aws_iam_role.terraform.id
  policy = data.aws_iam_policy_document.terraform.json
}

# --- break-glass role -----------------------------------------------------------------------
data "aws_iam_policy_document" "assume_break_glass" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.break_glass_principal_arns
    }
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "aws:MultiFactorAuthAge"
      values   = ["3600"]
    }
  }
}

resource "aws_iam_role" "break_glass" {
  name                 = "${var.name}-break-glass"
  assume_role_policy   = data.aws_iam_policy_document.assume_break_glass.json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "break_glass" {
  statement {
    sid = "KeyAdministration"
    actions = concat(local.kms_destruction, [
      "kms:DescribeKey", "kms:GetKeyPolicy", "kms:EnableKey", "kms:EnableKeyRotation",
      "kms:CancelKeyDeletion", "kms:ListResourceTags",
    ])
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
  }
}

resource "aws_iam_role_policy" "break_glass" {
  name   = "finlake-break-glass"
  role   = aws_iam_role.break_glass.id
  policy = data.aws_iam_policy_document.break_glass.json
}
