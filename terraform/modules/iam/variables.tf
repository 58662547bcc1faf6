variable "name" {
  description = "Name prefix, e.g. finlake-prod."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository allowed to assume the roles."
  type        = string
}

variable "github_environment" {
  description = "GitHub environment (dev, prod) whose jobs may assume the roles."
  type        = string
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (once per account)."
  type        = bool
  default     = true
}

variable "ecr_repository_arn" {
  description = "Repository the deploy role pushes to."
  type        = string
}

variable "artifacts_bucket_arn" {
  description = "Bucket receiving jobs/ and dags/ artifacts."
  type        = string
}

variable "kms_key_arn" {
  description = "Data CMK (artifacts bucket, ECR)."
  type        = string
}

variable "state_bucket" {
  description = "Bucket holding the Terraform state (created by the account bootstrap)."
  type        = string
}

variable "terraform_managed_policy_arns" {
  description = "Managed policies granting the terraform role the service APIs it manages."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
