output "deploy_role_arn" {
  description = "GitHub environment variable AWS_DEPLOY_ROLE_ARN."
  value       = module.iam.deploy_role_arn
}

output "plan_role_arn" {
  description = "GitHub environment variable AWS_PLAN_ROLE_ARN (on the <env>-plan environment)."
  value       = module.iam.plan_role_arn
}

output "terraform_role_arn" {
  description = "GitHub environment variable AWS_TERRAFORM_ROLE_ARN."
  value       = module.iam.terraform_role_arn
}

output "workload_boundary_arn" {
  description = "TF_VAR_permissions_boundary_arn of terraform/envs/<env>."
  value       = module.iam.workload_boundary_arn
}

output "break_glass_role_arn" {
  description = "TF_VAR_break_glass_role_arn of terraform/envs/<env>."
  value       = module.iam.break_glass_role_arn
}
