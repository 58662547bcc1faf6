# Trino on an EMR cluster: the Delta Lake connector reads the Gold and ops tables with the
# Glue Data Catalog as metastore, read-only (the Spark jobs register tables in Glue).
# Clients: the API tasks and the analysts' CIDRs, over HTTPS (EMR in-transit encryption) with
# a password (file authenticator) and file-based access control, installed on the primary
# node by a cluster step from the artifacts bucket (conf/trino/emr-configure-security.sh,
# rules.json rendered from jobs/trino/config.py by CD).

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name        = "${var.name}-trino"
  partition   = data.aws_partition.current.partition
  glue_prefix = "arn:${local.partition}:glue:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
}

# --- roles --------------------------------------------------------------------------------
data "aws_iam_policy_document" "emr_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["elasticmapreduce.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "service" {
  name                 = "${local.name}-emr-service"
  assume_role_policy   = data.aws_iam_policy_document.emr_assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

# AWS-maintained least-privilege policy for EMR v2 (acts only on resources tagged for EMR).
resource "aws_iam_role_policy_attachment" "service" {
  role       = aws_iam_role.service.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "instance" {
  name                 = "${local.name}-instance"
  assume_role_policy   = data.aws_iam_policy_document.ec2_assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "instance" {
  statement {
    sid       = "ListServedPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [var.lakehouse_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in var.served_prefixes : "${p}/*"]
    }
  }

  statement {
    sid       = "LocateLakehouse"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.lakehouse_bucket_arn]
  }

  statement {
    sid       = "ReadServedDeltaTables"
    actions   = ["s3:GetObject"]
    resources = [for p in var.served_prefixes : "${var.lakehouse_bucket_arn}/${p}/*"]
  }

  statement {
    sid       = "WriteClusterLogs"
    actions   = ["s3:PutObject"]
    resources = ["${var.logs_bucket_arn}/emr-trino/*"]
  }

  statement {
    sid       = "ReadSecurityConfiguration"
    actions   = ["s3:GetObject"]
    resources = ["${var.artifacts_bucket_arn}/trino/*"]
  }

  statement {
    sid       = "ReadPasswordFile"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.password_file_secret_arn]
  }

  # Catalog reads of the served databases only; no CreateTable/UpdateTable (Trino cannot
  # repoint a table at other data).
  statement {
    sid = "ReadGlueCatalog"
    actions = [
      "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
      "glue:GetPartition", "glue:GetPartitions",
    ]
    resources = concat(
      ["${local.glue_prefix}:catalog"],
      var.glue_database_arns,
      [for name in var.glue_database_names : "${local.glue_prefix}:table/${name}/*"],
    )
  }

  statement {
    sid       = "DecryptData"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "DecryptPasswordFile"
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "instance" {
  name   = "finlake-trino"
  role   = aws_iam_role.instance.id
  policy = data.aws_iam_policy_document.instance.json
}

resource "aws_iam_instance_profile" "instance" {
  name = "${local.name}-instance"
  role = aws_iam_role.instance.name
}

# --- network ------------------------------------------------------------------------------
# EMR adds its own intra-cluster rules to these managed groups; the coordinator's HTTPS port
# is open to the API tasks and the analysts' CIDRs only.
resource "aws_security_group" "primary" {
  name                   = "${local.name}-primary"
  description            = "EMR-managed primary node group of ${local.name}"
  vpc_id                 = var.vpc_id
  revoke_rules_on_delete = true
  tags                   = var.tags
}

resource "aws_security_group" "core" {
  name                   = "${local.name}-core"
  description            = "EMR-managed core node group of ${local.name}"
  vpc_id                 = var.vpc_id
  revoke_rules_on_delete = true
  tags                   = var.tags
}

resource "aws_security_group" "service_access" {
  name                   = "${local.name}-service-access"
  description            = "EMR service access for a cluster in a private subnet"
  vpc_id                 = var.vpc_id
  revoke_rules_on_delete = true
  tags                   = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "coordinator_from_clients" {
  for_each = toset(var.client_security_group_ids)

  security_group_id            = aws_security_group.primary.id
  description                  = "Trino HTTPS from the finlake API tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.trino_port
  to_port                      = var.trino_port
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "coordinator_from_analysts" {
  for_each = toset(var.analyst_cidrs)

  security_group_id = aws_security_group.primary.id
  description       = "Trino HTTPS from the analysts' network"
  ip_protocol       = "tcp"
  from_port         = var.trino_port
  to_port           = var.trino_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "service_access_from_primary" {
  security_group_id            = aws_security_group.service_access.id
  description                  = "EMR service access from the primary node"
  ip_protocol                  = "tcp"
  from_port                    = 9443
  to_port                      = 9443
  referenced_security_group_id = aws_security_group.primary.id
}

# --- encryption ---------------------------------------------------------------------------
resource "aws_emr_security_configuration" "this" {
  name = local.name
  configuration = jsonencode({
    EncryptionConfiguration = {
      EnableAtRestEncryption    = true
      EnableInTransitEncryption = true
      AtRestEncryptionConfiguration = {
        S3EncryptionConfiguration = {
          EncryptionMode = "SSE-KMS"
          AwsKmsKey      = var.kms_key_arn
        }
        LocalDiskEncryptionConfiguration = {
          EncryptionKeyProviderType = "AwsKms"
          AwsKmsKey                 = var.kms_key_arn
          EnableEbsEncryption       = true
        }
      }
      InTransitEncryptionConfiguration = {
        TLSCertificateConfiguration = {
          CertificateProviderType = "PEM"
          S3Object                = var.tls_certificates_s3_uri
        }
      }
    }
    InstanceMetadataServiceConfiguration = {
      MinimumInstanceMetadataServiceVersion = 2
      HttpPutResponseHopLimit               = 1
    }
  })
}

# --- cluster ------------------------------------------------------------------------------
resource "aws_emr_cluster" "trino" {
  #checkov:skip=CKV2_AWS_7:the managed groups only open Trino's HTTPS port to the API tasks and analyst CIDRs; EMR adds its own intra-cluster rules
  name                              = local.name
  release_label                     = var.release_label
  applications                      = ["Trino"]
  service_role                      = aws_iam_role.service.arn
  security_configuration            = aws_emr_security_configuration.this.name
  log_uri                           = "s3://${var.logs_bucket}/emr-trino/"
  termination_protection            = var.termination_protection
  keep_job_flow_alive_when_no_steps = true
  visible_to_all_users              = true
  ebs_root_volume_size              = 32

  ec2_attributes {
    subnet_id                         = var.private_subnet_id
    instance_profile                  = aws_iam_instance_profile.instance.arn
    emr_managed_master_security_group = aws_security_group.primary.id
    emr_managed_slave_security_group  = aws_security_group.core.id
    service_access_security_group     = aws_security_group.service_access.id
  }

  master_instance_group {
    instance_type = var.coordinator_instance_type
  }

  core_instance_group {
    instance_type  = var.worker_instance_type
    instance_count = var.worker_count
    bid_price      = var.worker_spot_bid_price

    ebs_config {
      size                 = 64
      type                 = "gp3"
      volumes_per_instance = 1
    }
  }

  dynamic "auto_termination_policy" {
    for_each = var.idle_timeout_seconds == null ? [] : [var.idle_timeout_seconds]
    content {
      idle_timeout = auto_termination_policy.value
    }
  }

  configurations_json = jsonencode([
    {
      Classification = "trino-connector-delta"
      Properties = {
        "hive.metastore"             = "glue"
        "hive.metastore.glue.region" = data.aws_region.current.region
        # read-only catalog: tables are registered in Glue by the Spark jobs, not by Trino
        "delta.security"                         = "read-only"
        "delta.register-table-procedure.enabled" = "false"
        "delta.hive-catalog-name"                = "delta"
      }
    },
    {
      Classification = "trino-config"
      Properties = {
        "query.max-memory"                                    = var.query_max_memory
        "http-server.authentication.type"                     = "PASSWORD"
        "http-server.authentication.allow-insecure-over-http" = "false"
      }
    },
  ])

  # Password file, group file and access rules on the coordinator (needs Trino installed).
  step {
    name              = "finlake-trino-security"
    action_on_failure = "TERMINATE_CLUSTER"
    hadoop_jar_step {
      jar = "command-runner.jar"
      args = [
        "bash", "-c",
        "aws s3 cp s3://${var.artifacts_bucket}/trino/emr-configure-security.sh /tmp/finlake-trino-security.sh && sudo bash /tmp/finlake-trino-security.sh ${var.password_file_secret_arn} s3://${var.artifacts_bucket}/trino/rules.json",
      ]
    }
  }

  tags = merge(var.tags, { "for-use-with-amazon-emr-managed-policies" = "true" })
}
