variable "name_prefix" {
  description = "Prefix of every bucket name, e.g. finlake-prod (the account id is appended)."
  type        = string
}

variable "kms_key_arn" {
  description = "Data CMK for SSE-KMS."
  type        = string
}

variable "landing_object_lock_days" {
  description = "Compliance-mode Object Lock retention of landing objects."
  type        = number
  default     = 400
}

variable "lakehouse_noncurrent_days" {
  description = "Days noncurrent lakehouse object versions are kept."
  type        = number
  default     = 14
}

variable "log_retention_days" {
  description = "Days access logs are kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
