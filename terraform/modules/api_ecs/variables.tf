variable "name" {
  description = "Name prefix, e.g. finlake-prod."
  type        = string
}

variable "image_tag" {
  description = "Image tag deployed (the git SHA set by CD)."
  type        = string
}

variable "cpu" {
  description = "Fargate task vCPU units."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Fargate task memory (MiB)."
  type        = number
  default     = 1024
}

variable "desired_count" {
  description = "Number of API tasks (2+ in prod for AZ resilience)."
  type        = number
  default     = 2
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the ALB."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks."
  type        = list(string)
}

variable "allowed_cidrs" {
  description = "Client CIDRs allowed to reach the HTTPS listener."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate of the API host name (DNS-validated outside this module)."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the ALB against deletion."
  type        = bool
  default     = true
}

variable "rate_limit_per_5min" {
  description = "WAF: requests per 5 minutes per client IP before blocking."
  type        = number
  default     = 2000
}

variable "landing_bucket" {
  description = "Landing bucket name."
  type        = string
}

variable "landing_bucket_arn" {
  description = "Landing bucket ARN."
  type        = string
}

variable "lakehouse_bucket" {
  description = "Lakehouse bucket name."
  type        = string
}

variable "logs_bucket" {
  description = "Bucket of the ALB access logs (prefix alb/)."
  type        = string
}

variable "trino_host" {
  description = "Trino coordinator host name."
  type        = string
}

variable "trino_port" {
  description = "Trino coordinator HTTPS port."
  type        = number
  default     = 8446
}

variable "trino_security_group_id" {
  description = "Security group of the Trino coordinator (the only Trino egress of the tasks)."
  type        = string
}

variable "trino_password_secret_arn" {
  description = "Secrets Manager secret holding the password of the Trino user finlake-api."
  type        = string
}

variable "api_keys_secret_arn" {
  description = "Secrets Manager secret holding FINLAKE_API_KEYS."
  type        = string
}

variable "kms_key_arn" {
  description = "Data CMK (landing objects, ECR)."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "CMK of the secrets."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "CMK of the log groups."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the log groups."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary every role of this module carries (the workload boundary of terraform/bootstrap)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}
