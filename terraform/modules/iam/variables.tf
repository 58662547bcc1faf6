variable "name" {
  description = "Name prefix, e.g. finlake-prod."
  type        = string
}

variable "environment" {
  description = "Environment (dev, prod); one AWS account each."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository allowed to assume the roles."
  type        = string
}

variable "github_environment" {
  description = "GitHub environment (dev, prod) whose main-branch jobs may assume the deploying roles; plans use <env>-plan."
  type        = string
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (once per account)."
  type        = bool
  default     = true
}

variable "state_bucket" {
  description = "Bucket holding the Terraform state (created by the account bootstrap)."
  type        = string
}

variable "terraform_managed_policy_arns" {
  description = "Managed policies granting the terraform role the service APIs it manages (capped by the CI boundary)."
  type        = list(string)
  default     = []
}

variable "break_glass_principal_arns" {
  description = "IAM principals (administrators, with MFA) that may assume the break-glass role."
  type        = list(string)

  validation {
    condition     = length(var.break_glass_principal_arns) > 0
    error_message = "At least one break-glass principal is required."
  }
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
