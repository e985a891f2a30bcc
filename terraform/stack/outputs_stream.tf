output "stream_name" {
  description = "Kinesis stream of transactions (partition key: the user)."
  value       = module.transactions_stream.name
}

output "stream_arn" {
  description = "ARN of the transactions stream."
  value       = module.transactions_stream.arn
}

output "stream_encryption" {
  description = "Server-side encryption of the transactions stream as applied."
  value       = module.transactions_stream.encryption
}

output "stream_alarms" {
  description = "The transactions stream's alarms (iterator age, throttled writes) as applied."
  value       = module.transactions_stream.alarms
}

output "fraud_scorer_function_name" {
  description = "Fraud scorer function name."
  value       = module.fraud_scorer.function_name
}

output "fraud_scorer_mapping_uuid" {
  description = "UUID of the scorer's Kinesis event source mapping."
  value       = module.fraud_scorer.event_source_mapping_uuids["transactions"]
}

output "fraud_scorer_event_source" {
  description = "The scorer's Kinesis event source mapping as applied (batching, bisect, retries, on-failure destination)."
  value       = module.fraud_scorer.stream_event_sources["transactions"]
}

output "fraud_audit_function_name" {
  description = "Fraud audit function name."
  value       = module.fraud_audit.function_name
}

output "fraud_audit_mapping_uuid" {
  description = "UUID of the audit function's DynamoDB Streams event source mapping."
  value       = module.fraud_audit.event_source_mapping_uuids["alerts"]
}

output "fraud_features_table_name" {
  description = "The feature store: per-user state (last location and time, rolling features), hash key user_id."
  value       = module.fraud_features_table.name
}

output "fraud_alerts_table_name" {
  description = "Fraud alerts, hash key alert_id, with a NEW_IMAGE stream feeding the audit function."
  value       = module.fraud_alerts_table.name
}

output "fraud_scorer_failures_queue_url" {
  description = "On-failure destination of the scorer's mapping: one invocation record per batch given up on."
  value       = module.fraud_scorer_failures.url
}

output "fraud_audit_failures_queue_url" {
  description = "On-failure destination of the audit function's mapping."
  value       = module.fraud_audit_failures.url
}

output "fraud_alerts_topic_arn" {
  description = "SNS topic FraudSuspected alerts are sent to (subscribe a queue, an email, a pager)."
  value       = module.fraud_alerts_topic.arn
}

output "fraud_audit_bucket_name" {
  description = "Bucket holding an audit record per alert (audit/<date>/<alert id>.json)."
  value       = module.fraud_audit_bucket.name
}

output "fraud_model_name" {
  description = "Fraud model the scorer serves (models/<name>/current.json in the model bucket)."
  value       = var.fraud_model_name
}
