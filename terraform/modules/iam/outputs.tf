output "deploy_role_arn" {
  description = "Role assumed by the CD image/artifact jobs (AWS_DEPLOY_ROLE_ARN)."
  value       = aws_iam_role.deploy.arn
}

output "plan_role_arn" {
  description = "Read-only role of the plan jobs (AWS_PLAN_ROLE_ARN)."
  value       = aws_iam_role.plan.arn
}

output "terraform_role_arn" {
  description = "Role assumed by the apply jobs (AWS_TERRAFORM_ROLE_ARN)."
  value       = aws_iam_role.terraform.arn
}

output "workload_boundary_arn" {
  description = "Permissions boundary every role of the env root must carry (permissions_boundary_arn)."
  value       = aws_iam_policy.workload_boundary.arn
}

output "break_glass_role_arn" {
  description = "The only role that may disable or delete KMS keys (break_glass_role_arn)."
  value       = aws_iam_role.break_glass.arn
}
