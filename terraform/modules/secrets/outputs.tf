output "secret_arns" {
  description = "Secret ARN per short name."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
}
