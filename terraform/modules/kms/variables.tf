variable "name" {
  description = "Alias name of the key, e.g. finlake-prod-data."
  type        = string
}

variable "service_principals" {
  description = "AWS service principals of this account allowed to use the key (e.g. sns.amazonaws.com)."
  type        = list(string)
  default     = []
}

variable "allow_cloudwatch_logs" {
  description = "Let CloudWatch Logs of this account and region encrypt log groups with the key."
  type        = bool
  default     = false
}

variable "break_glass_role_arn" {
  description = "The only role allowed to disable the key, schedule its deletion or change its policy (created by terraform/bootstrap)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.break_glass_role_arn))
    error_message = "break_glass_role_arn must be an IAM role ARN."
  }
}

variable "deletion_window_days" {
  description = "Waiting period before a scheduled key deletion completes."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
