variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-west-1"
}

variable "github_repository" {
  description = "owner/name of the repository whose CD may deploy here."
  type        = string
}

variable "create_oidc_provider" {
  description = "Create the GitHub OIDC provider (false when another root of the account owns it)."
  type        = bool
  default     = true
}

variable "state_bucket" {
  description = "Terraform state bucket (account bootstrap)."
  type        = string
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
