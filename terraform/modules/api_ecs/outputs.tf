output "ecr_repository_url" {
  description = "Repository the CD pipeline pushes the api image to."
  value       = aws_ecr_repository.api.repository_url
}

output "alb_dns_name" {
  description = "DNS name of the ALB (CNAME/alias target of the API host name)."
  value       = aws_lb.api.dns_name
}

output "alb_arn_suffix" {
  description = "ALB ARN suffix (CloudWatch dimension)."
  value       = aws_lb.api.arn_suffix
}

output "target_group_arn_suffix" {
  description = "Target group ARN suffix (CloudWatch dimension)."
  value       = aws_lb_target_group.api.arn_suffix
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.api.name
}

output "ecr_repository_arn" {
  description = "ARN of the api image repository (deploy role scope)."
  value       = aws_ecr_repository.api.arn
}

output "tasks_security_group_id" {
  description = "Security group of the API tasks (a Trino client)."
  value       = aws_security_group.tasks.id
}
