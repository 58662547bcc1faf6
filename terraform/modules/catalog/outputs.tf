output "database_names" {
  description = "Glue database name per layer."
  value       = { for k, db in aws_glue_catalog_database.layer : k => db.name }
}

output "database_arns" {
  description = "Glue database ARNs."
  value       = [for db in aws_glue_catalog_database.layer : db.arn]
}

output "database_arns_by_layer" {
  description = "Glue database ARN per layer."
  value       = { for k, db in aws_glue_catalog_database.layer : k => db.arn }
}
