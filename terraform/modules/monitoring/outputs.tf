output "alerts_topic_arn" {
  description = "SNS topic receiving every alarm."
  value       = aws_sns_topic.alerts.arn
}
