output "environment_arn" {
  description = "MWAA environment ARN."
  value       = aws_mwaa_environment.this.arn
}

output "environment_name" {
  description = "MWAA environment name."
  value       = aws_mwaa_environment.this.name
}

output "webserver_url" {
  description = "Private Airflow UI URL."
  value       = aws_mwaa_environment.this.webserver_url
}

output "execution_role_arn" {
  description = "MWAA execution role ARN."
  value       = aws_iam_role.execution.arn
}
