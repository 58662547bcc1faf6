output "landing_bucket" {
  description = "Landing bucket (FINLAKE_LANDING_ROOT=s3a://<bucket>/landing)."
  value       = module.storage.landing_bucket
}

output "lakehouse_bucket" {
  description = "Lakehouse bucket (FINLAKE_LAKE_ROOT=s3a://<bucket>)."
  value       = module.storage.lakehouse_bucket
}

output "artifacts_bucket" {
  description = "Bucket of jobs/ and dags/ artifacts (CD uploads here)."
  value       = module.storage.artifacts_bucket
}

output "ecr_repository_url" {
  description = "Repository of the api image."
  value       = module.api.ecr_repository_url
}

output "api_alb_dns_name" {
  description = "Point the API host name here."
  value       = module.api.alb_dns_name
}

output "emr_application_id" {
  description = "EMR Serverless application of the Spark jobs."
  value       = module.emr_serverless.application_id
}

output "mwaa_webserver_url" {
  description = "Private Airflow UI."
  value       = module.mwaa.webserver_url
}

output "trino_coordinator" {
  description = "Trino coordinator host:port."
  value       = "${module.trino.coordinator_dns}:${module.trino.port}"
}

output "alerts_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.monitoring.alerts_topic_arn
}
