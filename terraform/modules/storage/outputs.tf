output "landing_bucket" {
  description = "Landing bucket name."
  value       = module.landing.id
}

output "landing_bucket_arn" {
  description = "Landing bucket ARN."
  value       = module.landing.arn
}

output "lakehouse_bucket" {
  description = "Lakehouse bucket name."
  value       = module.lakehouse.id
}

output "lakehouse_bucket_arn" {
  description = "Lakehouse bucket ARN."
  value       = module.lakehouse.arn
}

output "artifacts_bucket" {
  description = "Artifacts bucket name (jobs code, DAGs)."
  value       = module.artifacts.id
}

output "artifacts_bucket_arn" {
  description = "Artifacts bucket ARN."
  value       = module.artifacts.arn
}

output "logs_bucket" {
  description = "Access-log bucket name."
  value       = aws_s3_bucket.logs.id
}

output "logs_bucket_arn" {
  description = "Access-log bucket ARN."
  value       = aws_s3_bucket.logs.arn
}
