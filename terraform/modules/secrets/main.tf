# Secrets Manager entries; values are set out of band (console/CLI), never in Terraform state.
#   api-keys       FINLAKE_API_KEYS JSON: {"<key>": ["ingest"], "<key>": ["read"]}
#   alert-webhook  FINLAKE_ALERT_WEBHOOK_URL for pipeline alerts

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:API keys are issued to producers by hand and rotated by the runbook (overlapping keys); no rotation Lambda exists for them
  for_each = var.secrets

  name                    = "${var.name_prefix}/${each.key}"
  description             = each.value
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}
