variable "lakehouse_bucket" {
  description = "Bucket holding the Delta tables."
  type        = string
}

variable "databases" {
  description = "Layers that get a Glue database."
  type        = list(string)
  default     = ["bronze", "silver", "gold", "ops"]
}

variable "database_prefix" {
  description = "Prefix of the database names (e.g. \"finlake_dev_\"; empty in prod)."
  type        = string
  default     = ""
}

variable "kms_key_arn" {
  description = "CMK encrypting the catalog."
  type        = string
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
