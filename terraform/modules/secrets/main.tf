# Secrets Manager entries; values are set out of band (console/CLI), never in Terraform state.
#   api-keys             FINLAKE_API_KEYS JSON: {"sha256:<digest>": ["ingest"], ...} (digests only)
#   alert-webhook        FINLAKE_ALERT_WEBHOOK_URL for pipeline alerts
#   trino-api-password   FINLAKE_TRINO_PASSWORD of the Trino user finlake-api
#   trino-password-file  Trino's password file (PBKDF2 hashes) and group file
# Rotation is the overlap runbook of docs/security.md: add the new digest/hash, move the
# clients, remove the old one. No rotation Lambda: the secrets are held by people/producers.

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:values are digests/hashes of credentials held by people and producers: rotated by the overlap runbook (docs/security.md)
  for_each = var.secrets

  name                    = "${var.name_prefix}/${each.key}"
  description             = each.value
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}
