# Trino on an EMR cluster: the Delta Lake connector reads the Gold/Silver tables with the
# Glue Data Catalog as metastore. Analysts and the API (private subnets) query port 8889.

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
  name               = "${local.name}-emr-service"
  assume_role_policy = data.aws_iam_policy_document.emr_assume.json
  tags               = var.tags
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
  name               = "${local.name}-instance"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "instance" {
  statement {
    sid       = "ListLakehouse"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.lakehouse_bucket_arn]
  }

  statement {
    sid       = "ReadDeltaTables"
    actions   = ["s3:GetObject"]
    resources = ["${var.lakehouse_bucket_arn}/*"]
  }

  statement {
    sid       = "WriteClusterLogs"
    actions   = ["s3:PutObject"]
    resources = ["${var.logs_bucket_arn}/emr-trino/*"]
  }

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
    sid       = "RegisterDeltaTables"
    actions   = ["glue:CreateTable", "glue:UpdateTable"]
    resources = concat(["${local.glue_prefix}:catalog"], var.glue_database_arns, [for name in var.glue_database_names : "${local.glue_prefix}:table/${name}/*"])
  }

  statement {
    sid       = "DecryptData"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
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
# EMR adds its own rules to these managed groups; the coordinator port is opened to the VPC.
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

resource "aws_vpc_security_group_ingress_rule" "coordinator" {
  security_group_id = aws_security_group.primary.id
  description       = "Trino coordinator for the API and analysts inside the VPC"
  ip_protocol       = "tcp"
  from_port         = var.trino_port
  to_port           = var.trino_port
  cidr_ipv4         = var.vpc_cidr_block
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
  #checkov:skip=CKV2_AWS_7:the managed security groups only open the Trino port to the VPC CIDR; EMR adds its intra-cluster rules itself
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
        "hive.metastore"                         = "glue"
        "hive.metastore.glue.region"             = data.aws_region.current.region
        "delta.register-table-procedure.enabled" = "true"
        "delta.enable-non-concurrent-writes"     = "false"
        "delta.hive-catalog-name"                = "delta"
      }
    },
    {
      Classification = "trino-config"
      Properties = {
        "query.max-memory" = var.query_max_memory
      }
    },
  ])

  tags = merge(var.tags, { "for-use-with-amazon-emr-managed-policies" = "true" })
}
