variable "name" {
  description = "Name prefix, e.g. finlake-prod."
  type        = string
}

variable "airflow_version" {
  description = "Airflow 3 version offered by MWAA (the DAGs are written for the Airflow 3 task SDK)."
  type        = string
  default     = "3.0.6"
}

variable "environment_class" {
  description = "mw1.micro (dev) … mw1.medium; the class is the main MWAA cost driver."
  type        = string
  default     = "mw1.small"
}

variable "max_workers" {
  description = "Upper bound of Celery workers (autoscaling)."
  type        = number
  default     = 2
}

variable "requirements_s3_path" {
  description = "Key of an extra requirements.txt in the source bucket (null: MWAA's image only)."
  type        = string
  default     = null
}

variable "vpc_id" {
  description = "VPC of the environment."
  type        = string
}

variable "vpc_cidr_block" {
  description = "VPC CIDR (metadata DB endpoints)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (MWAA uses exactly two)."
  type        = list(string)
}

variable "artifacts_bucket_arn" {
  description = "Source bucket (dags/ prefix)."
  type        = string
}

variable "artifacts_bucket_name" {
  description = "Source bucket name."
  type        = string
}

variable "kms_key_arn" {
  description = "CMK of the environment."
  type        = string
}

variable "emr_application_id" {
  description = "EMR Serverless application the DAG tasks submit to."
  type        = string
}

variable "emr_application_arn" {
  description = "Its ARN."
  type        = string
}

variable "emr_runtime_role_arn" {
  description = "Job runtime role passed to StartJobRun."
  type        = string
}

variable "secret_arns" {
  description = "Secrets the DAGs may read (alert webhook)."
  type        = list(string)
}

variable "extra_airflow_options" {
  description = "Additional airflow.cfg options (section.key = value)."
  type        = map(string)
  default     = {}
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
