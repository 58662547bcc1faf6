# Account guardrails of finlake prod: permissions boundaries, the GitHub Actions roles and the
# break-glass role. Applied by an administrator of the prod account, never by CI (the CI roles
# cannot modify anything created here). Outputs feed terraform/envs/prod and the GitHub
# environment variables (docs/security.md).

locals {
  env  = "prod"
  name = "finlake-${local.env}"
  tags = {
    Project     = "finlake"
    Environment = local.env
    ManagedBy   = "terraform-bootstrap"
  }
}

module "iam" {
  source                        = "../../modules/iam"
  name                          = local.name
  environment                   = local.env
  github_repository             = var.github_repository
  github_environment            = local.env
  create_oidc_provider          = var.create_oidc_provider
  state_bucket                  = var.state_bucket
  break_glass_principal_arns    = var.break_glass_principal_arns
  terraform_managed_policy_arns = ["arn:aws:iam::aws:policy/PowerUserAccess"]
  tags                          = local.tags
}
