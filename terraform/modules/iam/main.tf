# GitHub Actions OIDC federation: the CD workflow assumes these roles with short-lived tokens
# bound to this repository and GitHub environment; no long-lived access keys exist.
#   <name>-gha-deploy     push the api image, upload jobs/ and dags/ artifacts
#   <name>-gha-terraform  plan/apply this environment's root (state bucket + managed services)

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  partition    = data.aws_partition.current.partition
  account_id   = data.aws_caller_identity.current.account_id
  oidc_host    = "token.actions.githubusercontent.com"
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:${local.partition}:iam::${local.account_id}:oidc-provider/${local.oidc_host}"
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  tags           = var.tags
}

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
    # Only jobs bound to the GitHub environment (and so to its protection rules).
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_environment}"]
    }
  }
}

# --- deploy role --------------------------------------------------------------------------
resource "aws_iam_role" "deploy" {
  name                 = "${var.name}-gha-deploy"
  assume_role_policy   = data.aws_iam_policy_document.assume_from_environment.json
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
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
  }

  statement {
    sid       = "UploadArtifacts"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    resources = ["${var.artifacts_bucket_arn}/jobs/*", "${var.artifacts_bucket_arn}/dags/*"]
  }

  statement {
    sid       = "EncryptArtifactsAndImages"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "finlake-deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

# --- terraform role -----------------------------------------------------------------------
# Broad by nature (it creates the platform); bounded to the finlake name space for IAM so it
# cannot grant itself or others anything outside finlake-* roles and policies.
resource "aws_iam_role" "terraform" {
  name                 = "${var.name}-gha-terraform"
  assume_role_policy   = data.aws_iam_policy_document.assume_from_environment.json
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
    sid = "ManageFinlakeIam"
    actions = [
      "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:TagRole",
      "iam:UntagRole", "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy",
      "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:AttachRolePolicy",
      "iam:DetachRolePolicy", "iam:PassRole", "iam:UpdateAssumeRolePolicy",
      "iam:ListInstanceProfilesForRole", "iam:CreateInstanceProfile",
      "iam:DeleteInstanceProfile", "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile",
      "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile",
      "iam:GetOpenIDConnectProvider", "iam:CreateServiceLinkedRole",
    ]
    resources = [
      "arn:${local.partition}:iam::${local.account_id}:role/finlake-*",
      "arn:${local.partition}:iam::${local.account_id}:instance-profile/finlake-*",
      "arn:${local.partition}:iam::${local.account_id}:oidc-provider/${local.oidc_host}",
      "arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/*",
    ]
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
