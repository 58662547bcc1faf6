output "application_id" {
  description = "EMR Serverless application id (FINLAKE_EMR_APPLICATION_ID of the DAGs)."
  value       = aws_emrserverless_application.spark.id
}

output "application_arn" {
  description = "EMR Serverless application ARN."
  value       = aws_emrserverless_application.spark.arn
}

output "runtime_role_arn" {
  description = "Job runtime role ARN passed to StartJobRun."
  value       = aws_iam_role.runtime.arn
}
