variable "name" {
  description = "Name prefix, e.g. finlake-prod."
  type        = string
}

variable "release_label" {
  description = "EMR release with Spark 4 (the jobs use Spark 4 APIs and a Delta 4 JAR matching it)."
  type        = string
  default     = "emr-spark-8.0.0"
}

variable "architecture" {
  description = "X86_64, or ARM64 (Graviton, ~20% cheaper) when the packed venv is built on arm64."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.architecture)
    error_message = "architecture is X86_64 or ARM64."
  }
}

variable "max_vcpu" {
  description = "Cap of concurrent vCPU of the application (cost guard), e.g. \"32 vCPU\"."
  type        = string
  default     = "32 vCPU"
}

variable "max_memory" {
  description = "Cap of concurrent memory, e.g. \"128 GB\"."
  type        = string
  default     = "128 GB"
}

variable "max_disk" {
  description = "Cap of concurrent disk, e.g. \"500 GB\"."
  type        = string
  default     = "500 GB"
}

variable "vpc_id" {
  description = "VPC of the workers."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets of the workers."
  type        = list(string)
}

variable "landing_bucket_arn" {
  description = "Landing bucket (read)."
  type        = string
}

variable "lakehouse_bucket_arn" {
  description = "Lakehouse bucket (read/write)."
  type        = string
}

variable "artifacts_bucket_arn" {
  description = "Artifacts bucket (job code, read)."
  type        = string
}

variable "logs_bucket_arn" {
  description = "Log bucket (Spark event logs under emr-serverless/)."
  type        = string
}

variable "glue_database_names" {
  description = "Glue databases the jobs may register tables in."
  type        = list(string)
}

variable "glue_database_arns" {
  description = "ARNs of those databases."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Data CMK."
  type        = string
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
