output "name" {
  description = "Queue name."
  value       = aws_sqs_queue.this.name
}

output "url" {
  description = "Queue URL."
  value       = aws_sqs_queue.this.url
}

output "arn" {
  description = "Queue ARN."
  value       = aws_sqs_queue.this.arn
}

output "dlq_name" {
  description = "Dead-letter queue name."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "Dead-letter queue URL."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "Dead-letter queue ARN."
  value       = aws_sqs_queue.dlq.arn
}

output "max_receive_count" {
  description = "Receives before a message is dead-lettered."
  value       = var.max_receive_count
}

output "alarm_names" {
  description = "Names of the dead-letter queue alarms."
  value       = [aws_cloudwatch_metric_alarm.dlq_messages_visible.alarm_name, aws_cloudwatch_metric_alarm.dlq_oldest_message_age.alarm_name]
}

output "policy" {
  description = "The queue policy document (JSON), or null when no service principal is allowed."
  value       = local.policy
}

output "dlq_policy" {
  description = "The dead-letter queue policy document (JSON), or null."
  value       = local.policies["dlq"]
}

output "redrive_policy" {
  description = "The main queue's redrive policy as applied (JSON): deadLetterTargetArn and maxReceiveCount."
  value       = aws_sqs_queue.this.redrive_policy
}

output "kms_master_key_ids" {
  description = "KMS key of each queue as applied: { queue, dlq }."
  value       = { queue = aws_sqs_queue.this.kms_master_key_id, dlq = aws_sqs_queue.dlq.kms_master_key_id }
}

output "dlq_alarms" {
  description = "The dead-letter queue alarms as applied: metric, queue, threshold and actions."
  value = {
    for k, a in {
      messages_visible   = aws_cloudwatch_metric_alarm.dlq_messages_visible
      oldest_message_age = aws_cloudwatch_metric_alarm.dlq_oldest_message_age
      } : k => {
      alarm_name    = a.alarm_name
      metric_name   = a.metric_name
      queue_name    = a.dimensions["QueueName"]
      threshold     = a.threshold
      alarm_actions = a.alarm_actions
    }
  }
}
