variable "name" {
  description = "Globally unique bucket name."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for default encryption (SSE-KMS)."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket receiving the server access logs."
  type        = string
}

variable "object_lock_days" {
  description = "Compliance-mode default retention in days; null disables Object Lock (fixed at creation)."
  type        = number
  default     = null
}

variable "transition_to_ia_days" {
  description = "Days before current objects move to STANDARD_IA (null: never)."
  type        = number
  default     = null
}

variable "transition_to_glacier_days" {
  description = "Days before current objects move to GLACIER_IR (null: never)."
  type        = number
  default     = null
}

variable "noncurrent_version_expiration_days" {
  description = "Days a noncurrent object version is kept (Delta time travel and undo window)."
  type        = number
  default     = 30
}

variable "extra_policy_json" {
  description = "Additional bucket policy statements (merged with the TLS-only baseline)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
