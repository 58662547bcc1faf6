output "coordinator_dns" {
  description = "Private DNS name of the Trino coordinator (FINLAKE_TRINO_HOST)."
  value       = aws_emr_cluster.trino.master_public_dns
}

output "cluster_id" {
  description = "EMR cluster id."
  value       = aws_emr_cluster.trino.id
}

output "port" {
  description = "Trino coordinator port."
  value       = var.trino_port
}

output "security_group_id" {
  description = "Security group of the coordinator (egress target of its clients)."
  value       = aws_security_group.primary.id
}
