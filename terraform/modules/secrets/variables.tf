variable "name_prefix" {
  description = "Secret name prefix, e.g. finlake/prod."
  type        = string
}

variable "secrets" {
  description = "Secret short names and their descriptions."
  type        = map(string)
  default = {
    "api-keys"            = "FINLAKE_API_KEYS: JSON map of sha256:<digest of an API key> to scopes (ingest, read)"
    "alert-webhook"       = "FINLAKE_ALERT_WEBHOOK_URL: webhook receiving pipeline alerts"
    "trino-api-password"  = "FINLAKE_TRINO_PASSWORD of the read-only Trino user finlake-api"
    "trino-password-file" = "Trino password file (user:PBKDF2 hash lines, `finlake trino passwd`) and group file, JSON {password_db, group_file}"
  }
}

variable "kms_key_arn" {
  description = "CMK encrypting the secrets."
  type        = string
}

variable "recovery_window_days" {
  description = "Days a deleted secret can be restored."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
