# One customer-managed KMS key per purpose (data, logs, secrets), rotated yearly.
# Nobody but the break-glass role may disable the key, schedule its deletion or change its
# policy: the data key protects the Object-Locked landing bucket, so losing it loses the data.
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  partition  = data.aws_partition.current.partition
  protected_actions = [
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:PutKeyPolicy",
    "kms:DisableKeyRotation",
    "kms:DeleteImportedKeyMaterial",
  ]
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:key policy: "*" is this key; destructive and policy actions are denied below to all but the break-glass role
  #checkov:skip=CKV_AWS_111:key policy: "*" is this key; service use is conditioned on this account (aws:SourceAccount, logs ARN)
  #checkov:skip=CKV_AWS_356:key policy: Resource "*" is the only valid resource in a KMS key policy and means this key
  # Key administration stays with the account (IAM policies then grant use per role).
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means this key only
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # Explicit deny beats every allow (IAM policies of PowerUser-like roles included).
  statement {
    sid       = "DenyKeyDestructionExceptBreakGlass"
    effect    = "Deny"
    actions   = local.protected_actions
    resources = ["*"] # this key only
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [var.break_glass_role_arn]
    }
  }

  dynamic "statement" {
    for_each = length(var.service_principals) > 0 ? [1] : []
    content {
      sid       = "AllowAwsServicesInThisAccount"
      actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
      resources = ["*"] # this key only
      principals {
        type        = "Service"
        identifiers = var.service_principals
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }

  dynamic "statement" {
    for_each = var.allow_cloudwatch_logs ? [1] : []
    content {
      sid       = "AllowCloudWatchLogs"
      actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
      resources = ["*"] # this key only
      principals {
        type        = "Service"
        identifiers = ["logs.${local.region}.amazonaws.com"]
      }
      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "finlake ${var.name}"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.deletion_window_days
  policy                  = data.aws_iam_policy_document.key.json
  # The policy denies PutKeyPolicy to the creating (CI) role on purpose; the break-glass role
  # keeps it, so the key cannot become unmanageable (KMS's lockout check only sees the caller).
  bypass_policy_lockout_safety_check = true
  tags                               = var.tags

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
