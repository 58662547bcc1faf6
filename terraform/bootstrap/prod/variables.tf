variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-west-1"
}

variable "aws_account_id" {
  description = "The AWS account of this environment (one account per environment)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id is a 12-digit AWS account id."
  }
}

variable "github_repository" {
  description = "owner/name of the repository whose CD may deploy here."
  type        = string
}

variable "create_oidc_provider" {
  description = "Create the GitHub OIDC provider (false when the account already has one)."
  type        = bool
  default     = true
}

variable "state_bucket" {
  description = "Terraform state bucket of the account."
  type        = string
}

variable "break_glass_principal_arns" {
  description = "Administrators (with MFA) allowed to assume the break-glass role."
  type        = list(string)
}
