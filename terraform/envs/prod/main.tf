# finlake prod: NAT gateway per AZ, 2+ API tasks, mw1.small MWAA, an always-on on-demand Trino
# cluster (the metrics API reads through it), larger EMR Serverless cap, long retention.

locals {
  env  = "prod"
  name = "finlake-${local.env}"
  tags = {
    Project     = "finlake"
    Environment = local.env
    ManagedBy   = "terraform"
  }
}

module "kms_data" {
  source                = "../../modules/kms"
  break_glass_role_arn  = var.break_glass_role_arn
  name                  = "${local.name}-data"
  allow_cloudwatch_logs = true # MWAA log groups are encrypted with the environment key
  service_principals    = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
  tags                  = local.tags
}

module "kms_logs" {
  source                = "../../modules/kms"
  break_glass_role_arn  = var.break_glass_role_arn
  name                  = "${local.name}-logs"
  allow_cloudwatch_logs = true
  service_principals    = ["sns.amazonaws.com", "cloudwatch.amazonaws.com"]
  tags                  = local.tags
}

module "kms_secrets" {
  source               = "../../modules/kms"
  break_glass_role_arn = var.break_glass_role_arn
  name                 = "${local.name}-secrets"
  tags                 = local.tags
}

module "network" {
  source                   = "../../modules/network"
  permissions_boundary_arn = var.permissions_boundary_arn
  name                     = local.name
  availability_zones       = ["${var.region}a", "${var.region}b"]
  cidr_block               = "10.50.0.0/16"
  single_nat_gateway       = false
  logs_kms_key_arn         = module.kms_logs.key_arn
  tags                     = local.tags
}

module "storage" {
  source                    = "../../modules/storage"
  name_prefix               = local.name
  kms_key_arn               = module.kms_data.key_arn
  landing_object_lock_days  = 400
  lakehouse_noncurrent_days = 14
  log_retention_days        = 365
  tags                      = local.tags
}

module "catalog" {
  source           = "../../modules/catalog"
  lakehouse_bucket = module.storage.lakehouse_bucket
  database_prefix  = ""
  kms_key_arn      = module.kms_data.key_arn
  tags             = local.tags
}

module "secrets" {
  source      = "../../modules/secrets"
  name_prefix = "finlake/${local.env}"
  kms_key_arn = module.kms_secrets.key_arn
  tags        = local.tags
}

module "emr_serverless" {
  source                   = "../../modules/emr_serverless"
  permissions_boundary_arn = var.permissions_boundary_arn
  name                     = local.name
  max_vcpu                 = "48 vCPU"
  max_memory               = "192 GB"
  max_disk                 = "1000 GB"
  vpc_id                   = module.network.vpc_id
  private_subnet_ids       = module.network.private_subnet_ids
  landing_bucket_arn       = module.storage.landing_bucket_arn
  lakehouse_bucket_arn     = module.storage.lakehouse_bucket_arn
  artifacts_bucket_arn     = module.storage.artifacts_bucket_arn
  logs_bucket_arn          = module.storage.logs_bucket_arn
  glue_database_names      = values(module.catalog.database_names)
  glue_database_arns       = module.catalog.database_arns
  kms_key_arn              = module.kms_data.key_arn
  tags                     = local.tags
}

module "mwaa" {
  source                   = "../../modules/mwaa"
  permissions_boundary_arn = var.permissions_boundary_arn
  name                     = local.name
  environment_class        = "mw1.small"
  max_workers              = 4
  vpc_id                   = module.network.vpc_id
  vpc_cidr_block           = module.network.vpc_cidr_block
  private_subnet_ids       = module.network.private_subnet_ids
  artifacts_bucket_arn     = module.storage.artifacts_bucket_arn
  artifacts_bucket_name    = module.storage.artifacts_bucket
  kms_key_arn              = module.kms_data.key_arn
  emr_application_id       = module.emr_serverless.application_id
  emr_application_arn      = module.emr_serverless.application_arn
  emr_runtime_role_arn     = module.emr_serverless.runtime_role_arn
  secret_arns              = [module.secrets.secret_arns["alert-webhook"]]
  tags                     = local.tags
}

module "trino" {
  source                    = "../../modules/trino"
  permissions_boundary_arn  = var.permissions_boundary_arn
  name                      = local.name
  coordinator_instance_type = "m7g.xlarge"
  worker_instance_type      = "r7g.xlarge"
  worker_count              = 2
  termination_protection    = true
  query_max_memory          = "20GB"
  tls_certificates_s3_uri   = var.trino_tls_certificates_s3_uri
  vpc_id                    = module.network.vpc_id
  private_subnet_id         = module.network.private_subnet_ids[0]
  client_security_group_ids = [module.api.tasks_security_group_id]
  analyst_cidrs             = var.trino_analyst_cidrs
  artifacts_bucket          = module.storage.artifacts_bucket
  artifacts_bucket_arn      = module.storage.artifacts_bucket_arn
  password_file_secret_arn  = module.secrets.secret_arns["trino-password-file"]
  secrets_kms_key_arn       = module.kms_secrets.key_arn
  lakehouse_bucket_arn      = module.storage.lakehouse_bucket_arn
  logs_bucket               = module.storage.logs_bucket
  logs_bucket_arn           = module.storage.logs_bucket_arn
  glue_database_names       = [for l in ["gold", "ops"] : module.catalog.database_names[l]]
  glue_database_arns        = [for l in ["gold", "ops"] : module.catalog.database_arns_by_layer[l]]
  kms_key_arn               = module.kms_data.key_arn
  tags                      = local.tags
}

module "api" {
  source                    = "../../modules/api_ecs"
  permissions_boundary_arn  = var.permissions_boundary_arn
  name                      = local.name
  image_tag                 = var.api_image_tag
  desired_count             = 2
  deletion_protection       = true
  vpc_id                    = module.network.vpc_id
  public_subnet_ids         = module.network.public_subnet_ids
  private_subnet_ids        = module.network.private_subnet_ids
  allowed_cidrs             = var.api_allowed_cidrs
  certificate_arn           = var.api_certificate_arn
  landing_bucket            = module.storage.landing_bucket
  landing_bucket_arn        = module.storage.landing_bucket_arn
  lakehouse_bucket          = module.storage.lakehouse_bucket
  logs_bucket               = module.storage.logs_bucket
  trino_host                = module.trino.coordinator_dns
  trino_port                = module.trino.port
  trino_security_group_id   = module.trino.security_group_id
  trino_password_secret_arn = module.secrets.secret_arns["trino-api-password"]
  api_keys_secret_arn       = module.secrets.secret_arns["api-keys"]
  kms_key_arn               = module.kms_data.key_arn
  secrets_kms_key_arn       = module.kms_secrets.key_arn
  logs_kms_key_arn          = module.kms_logs.key_arn
  log_retention_days        = 365
  tags                      = local.tags
}

module "monitoring" {
  source                  = "../../modules/monitoring"
  name                    = local.name
  kms_key_arn             = module.kms_logs.key_arn
  alert_emails            = var.alert_emails
  alb_arn_suffix          = module.api.alb_arn_suffix
  target_group_arn_suffix = module.api.target_group_arn_suffix
  ecs_cluster_name        = module.api.cluster_name
  ecs_service_name        = module.api.service_name
  emr_application_id      = module.emr_serverless.application_id
  mwaa_environment_name   = module.mwaa.environment_name
  tags                    = local.tags
}

# The GitHub Actions roles, the permissions boundaries and the break-glass role are account
# guardrails: terraform/bootstrap/prod (applied by an administrator, never by CI).
