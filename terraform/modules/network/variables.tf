variable "name" {
  description = "Name prefix of the network resources, e.g. finlake-prod."
  type        = string
}

variable "cidr_block" {
  description = "VPC CIDR block (a /16 is split into /20 subnets)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Availability zone names, fixed so the subnet layout never shifts (MWAA needs two)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "At least two availability zones are needed (MWAA, ALB)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper, not AZ-resilient): true for dev."
  type        = bool
  default     = false
}

variable "logs_kms_key_arn" {
  description = "CMK encrypting the flow-log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the flow-log group."
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
