# finlake buckets: landing (write-once raw events, Object Lock), lakehouse (Delta tables of
# bronze/silver/gold/ops), artifacts (job code, DAGs for MWAA) and the access-log sink.

data "aws_caller_identity" "current" {}
data "aws_elb_service_account" "current" {}
data "aws_partition" "current" {}

locals {
  suffix = "${var.name_prefix}-${data.aws_caller_identity.current.account_id}"
}

# --- access-log sink ----------------------------------------------------------------------
# S3 server access logging and ALB access logs can only write to a bucket encrypted with
# SSE-S3, so this one bucket uses AES256 instead of the CMK.
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:this is the access-log target itself; logging it into itself would loop
  #checkov:skip=CKV_AWS_145:S3 server access logs and ALB logs require SSE-S3 on the target bucket
  #checkov:skip=CKV_AWS_144:access logs are not replicated cross-region (cost); retention is lifecycle-bound
  #checkov:skip=CKV2_AWS_62:no consumers of log-object events; notifications would only add cost
  bucket        = "${local.suffix}-logs"
  force_destroy = false
  tags          = merge(var.tags, { Name = "${local.suffix}-logs" })
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}

    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }

    expiration {
      days = var.log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  statement {
    sid       = "AlbAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket     = aws_s3_bucket.logs.id
  policy     = data.aws_iam_policy_document.logs.json
  depends_on = [aws_s3_bucket_public_access_block.logs]
}

# --- data buckets -------------------------------------------------------------------------
# Landing objects are write-once: every PUT under landing/ must carry `If-None-Match: *`, so
# no writer (a bug, a stolen task role) can overwrite an object the API acknowledged. S3
# evaluates the s3:if-none-match condition key for PutObject and CompleteMultipartUpload.
data "aws_iam_policy_document" "landing_write_once" {
  statement {
    sid       = "DenyLandingPutWithoutIfNoneMatch"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${local.suffix}-landing/landing/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Null"
      variable = "s3:if-none-match"
      values   = ["true"]
    }
  }

  statement {
    sid       = "DenyLandingPutWithOtherIfNoneMatch"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${local.suffix}-landing/landing/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:if-none-match"
      values   = ["*"]
    }
  }
}

module "landing" {
  source = "../s3_bucket"

  name              = "${local.suffix}-landing"
  extra_policy_json = data.aws_iam_policy_document.landing_write_once.json
  kms_key_arn       = var.kms_key_arn
  access_log_bucket = aws_s3_bucket.logs.id
  # Write-once raw events: compliance-mode retention makes them immutable (replay source).
  object_lock_days                   = var.landing_object_lock_days
  transition_to_ia_days              = 30
  transition_to_glacier_days         = 90
  noncurrent_version_expiration_days = 7
  tags                               = var.tags
}

module "lakehouse" {
  source = "../s3_bucket"

  name              = "${local.suffix}-lakehouse"
  kms_key_arn       = var.kms_key_arn
  access_log_bucket = aws_s3_bucket.logs.id
  # Delta keeps its own history; noncurrent S3 versions only cover accidental deletes.
  noncurrent_version_expiration_days = var.lakehouse_noncurrent_days
  tags                               = var.tags
}

# MWAA requires its source bucket name to start with "airflow-" and versioning enabled.
module "artifacts" {
  source = "../s3_bucket"

  name                               = "airflow-${local.suffix}-artifacts"
  kms_key_arn                        = var.kms_key_arn
  access_log_bucket                  = aws_s3_bucket.logs.id
  noncurrent_version_expiration_days = 90
  tags                               = var.tags
}
