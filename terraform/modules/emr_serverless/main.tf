# EMR Serverless application running the finlake spark-submit entry points (jobs/*.py).
# Code and the packed Python environment come from the artifacts bucket (uploaded by CD);
# the DAGs start job runs with the runtime role below.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  glue_prefix = "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
}

resource "aws_security_group" "emr" {
  #checkov:skip=CKV2_AWS_5:attached through aws_emrserverless_application.spark network_configuration, which the graph check does not follow
  name        = "${var.name}-emr-serverless"
  description = "EMR Serverless workers of ${var.name}: egress only (S3 via endpoint, Glue, KMS)"
  vpc_id      = var.vpc_id
  tags        = var.tags

  egress {
    description = "HTTPS to AWS APIs"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_emrserverless_application" "spark" {
  name          = "${var.name}-spark"
  release_label = var.release_label
  type          = "spark"
  architecture  = var.architecture

  maximum_capacity {
    cpu    = var.max_vcpu
    memory = var.max_memory
    disk   = var.max_disk
  }

  auto_start_configuration {
    enabled = true
  }

  # Idle applications release their workers: no pre-initialized capacity is billed.
  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = 15
  }

  network_configuration {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.emr.id]
  }

  tags = var.tags
}

# --- job runtime role ---------------------------------------------------------------------
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "runtime" {
  name                 = "${var.name}-emr-job-runtime"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "runtime" {
  statement {
    sid       = "ListBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.landing_bucket_arn, var.lakehouse_bucket_arn, var.artifacts_bucket_arn]
  }

  statement {
    sid       = "ReadLanding"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${var.landing_bucket_arn}/*"]
  }

  statement {
    sid       = "ReadJobCode"
    actions   = ["s3:GetObject"]
    resources = ["${var.artifacts_bucket_arn}/jobs/*"]
  }

  statement {
    sid       = "ReadWriteDeltaTables"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${var.lakehouse_bucket_arn}/*"]
  }

  statement {
    sid       = "WriteSparkEventLogs"
    actions   = ["s3:PutObject"]
    resources = ["${var.logs_bucket_arn}/emr-serverless/*"]
  }

  statement {
    sid = "GlueCatalog"
    actions = [
      "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
      "glue:GetPartition", "glue:GetPartitions", "glue:CreateTable", "glue:UpdateTable",
    ]
    resources = concat(
      ["${local.glue_prefix}:catalog"],
      var.glue_database_arns,
      [for name in var.glue_database_names : "${local.glue_prefix}:table/${name}/*"],
    )
  }

  statement {
    sid       = "UseDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "runtime" {
  name   = "finlake-jobs"
  role   = aws_iam_role.runtime.id
  policy = data.aws_iam_policy_document.runtime.json
}
