# Glue Data Catalog: the metastore of Trino's Delta Lake connector (and of any Spark job that
# registers tables). One database per medallion layer, located in the lakehouse bucket.

resource "aws_glue_catalog_database" "layer" {
  for_each = toset(var.databases)

  name         = "${var.database_prefix}${each.key}"
  description  = "finlake ${each.key} layer (Delta Lake tables)"
  location_uri = "s3://${var.lakehouse_bucket}/${each.key}/"
  tags         = var.tags
}

# Account/region-wide setting: catalog metadata and connection passwords encrypted with the CMK.
resource "aws_glue_data_catalog_encryption_settings" "this" {
  data_catalog_encryption_settings {
    connection_password_encryption {
      return_connection_password_encrypted = true
      aws_kms_key_id                       = var.kms_key_arn
    }

    encryption_at_rest {
      catalog_encryption_mode = "SSE-KMS"
      sse_aws_kms_key_id      = var.kms_key_arn
    }
  }
}
