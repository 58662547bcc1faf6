variable "name" {
  description = "Name prefix, e.g. finlake-prod."
  type        = string
}

variable "release_label" {
  description = "EMR release with Trino and its Delta Lake connector."
  type        = string
  default     = "emr-7.10.0"
}

variable "coordinator_instance_type" {
  description = "Instance type of the coordinator (primary node)."
  type        = string
  default     = "m7g.xlarge"
}

variable "worker_instance_type" {
  description = "Instance type of the workers (core nodes)."
  type        = string
  default     = "r7g.xlarge"
}

variable "worker_count" {
  description = "Number of workers."
  type        = number
  default     = 2
}

variable "worker_spot_bid_price" {
  description = "Spot bid price of the workers (null: on-demand). Spot cuts worker cost ~60-70%."
  type        = string
  default     = null
}

variable "idle_timeout_seconds" {
  description = "Terminate the cluster after this idle time (null: keep running; set for dev)."
  type        = number
  default     = null
}

variable "termination_protection" {
  description = "Protect the cluster against termination."
  type        = bool
  default     = true
}

variable "query_max_memory" {
  description = "Trino query.max-memory."
  type        = string
  default     = "20GB"
}

variable "trino_port" {
  description = "Trino coordinator HTTPS port on EMR (in-transit encryption on)."
  type        = number
  default     = 8446
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach the coordinator (the API tasks)."
  type        = list(string)
}

variable "analyst_cidrs" {
  description = "CIDRs of the analysts' network allowed to reach the coordinator."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.analyst_cidrs : can(cidrhost(c, 0)) && !startswith(c, "0.0.0.0/")])
    error_message = "analyst_cidrs are CIDR blocks, never 0.0.0.0/0."
  }
}

variable "served_prefixes" {
  description = "Lakehouse prefixes (layers) Trino may read."
  type        = list(string)
  default     = ["gold", "ops"]
}

variable "artifacts_bucket" {
  description = "Artifacts bucket name (trino/ holds the security script and rules.json)."
  type        = string
}

variable "artifacts_bucket_arn" {
  description = "Artifacts bucket ARN."
  type        = string
}

variable "password_file_secret_arn" {
  description = "Secrets Manager secret holding Trino's password file (and the group file)."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "CMK of the secrets."
  type        = string
}

variable "tls_certificates_s3_uri" {
  description = "s3:// URI of the zip of PEM certificates for EMR in-transit encryption."
  type        = string
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "private_subnet_id" {
  description = "Private subnet of the cluster."
  type        = string
}

variable "lakehouse_bucket_arn" {
  description = "Lakehouse bucket (read of served_prefixes only)."
  type        = string
}

variable "logs_bucket" {
  description = "Log bucket name (prefix emr-trino/)."
  type        = string
}

variable "logs_bucket_arn" {
  description = "Log bucket ARN."
  type        = string
}

variable "glue_database_names" {
  description = "Glue databases Trino reads."
  type        = list(string)
}

variable "glue_database_arns" {
  description = "Their ARNs."
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
