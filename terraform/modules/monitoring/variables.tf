variable "name" {
  description = "Name prefix, e.g. finlake-prod."
  type        = string
}

variable "kms_key_arn" {
  description = "CMK of the SNS topic."
  type        = string
}

variable "alert_emails" {
  description = "E-mail addresses subscribed to the alerts topic."
  type        = list(string)
  default     = []
}

variable "alb_arn_suffix" {
  description = "ALB ARN suffix."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "API target group ARN suffix."
  type        = string
}

variable "ecs_cluster_name" {
  description = "ECS cluster of the API."
  type        = string
}

variable "ecs_service_name" {
  description = "ECS service of the API."
  type        = string
}

variable "emr_application_id" {
  description = "EMR Serverless application id."
  type        = string
}

variable "mwaa_environment_name" {
  description = "MWAA environment name."
  type        = string
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
