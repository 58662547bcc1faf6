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
