variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-west-1"
}

variable "api_image_tag" {
  description = "Tag of the api image to run (git SHA, set by CD)."
  type        = string
}

variable "api_certificate_arn" {
  description = "ACM certificate of the API host name."
  type        = string
}

variable "api_allowed_cidrs" {
  description = "CIDRs allowed to call the API."
  type        = list(string)
}

variable "trino_tls_certificates_s3_uri" {
  description = "s3:// URI of the PEM zip for EMR in-transit encryption."
  type        = string
}

variable "alert_emails" {
  description = "Alert recipients."
  type        = list(string)
  default     = []
}

variable "aws_account_id" {
  description = "The AWS account of this environment (one account per environment)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id is a 12-digit AWS account id."
  }
}

variable "permissions_boundary_arn" {
  description = "Workload permissions boundary of every role (output of terraform/bootstrap)."
  type        = string
}

variable "break_glass_role_arn" {
  description = "The only role that may disable or delete the KMS keys (output of terraform/bootstrap)."
  type        = string
}

variable "trino_analyst_cidrs" {
  description = "CIDRs of the analysts' network allowed to reach Trino's HTTPS port."
  type        = list(string)
  default     = []
}
