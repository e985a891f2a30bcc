output "ingest_results_table_name" {
  description = "Ingest results, hash key object_key."
  value       = module.ingest_results_table.name
}

output "ingest_queue_name" {
  description = "Ingest queue name."
  value       = module.ingest_queue.name
}

output "ingest_queue_url" {
  description = "Ingest queue URL."
  value       = module.ingest_queue.url
}

output "ingest_queue_arn" {
  description = "Ingest queue ARN."
  value       = module.ingest_queue.arn
}

output "ingest_dlq_name" {
  description = "Ingest dead-letter queue name."
  value       = module.ingest_queue.dlq_name
}

output "ingest_dlq_url" {
  description = "Ingest dead-letter queue URL."
  value       = module.ingest_queue.dlq_url
}

output "ingest_dlq_arn" {
  description = "Ingest dead-letter queue ARN."
  value       = module.ingest_queue.dlq_arn
}

output "ingest_function_name" {
  description = "Ingest processor function name."
  value       = module.ingest_processor.function_name
}

output "ingest_function_arn" {
  description = "Ingest processor function ARN."
  value       = module.ingest_processor.function_arn
}

output "ingest_log_group_name" {
  description = "Log group of the ingest processor."
  value       = module.ingest_processor.log_group_name
}

output "ingest_rule_name" {
  description = "EventBridge rule routing landed objects to the ingest queue (default bus)."
  value       = one(module.ingest_rules.rule_names)
}

output "ingest_event_pattern" {
  description = "Event pattern of the ingest rule (JSON)."
  value       = module.ingest_rules.event_patterns[local.names.ingest_rule]
}
