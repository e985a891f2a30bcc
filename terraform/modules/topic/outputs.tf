output "arn" {
  description = "Topic ARN."
  value       = aws_sns_topic.this.arn
}

output "name" {
  description = "Topic name."
  value       = aws_sns_topic.this.name
}

output "policy" {
  description = "The topic policy document (JSON)."
  value       = local.policy
}
