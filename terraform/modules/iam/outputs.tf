output "deploy_role_arn" {
  description = "Role assumed by the CD image/artifact jobs (AWS_DEPLOY_ROLE_ARN)."
  value       = aws_iam_role.deploy.arn
}

output "terraform_role_arn" {
  description = "Role assumed by the CD terraform jobs (AWS_TERRAFORM_ROLE_ARN)."
  value       = aws_iam_role.terraform.arn
}
