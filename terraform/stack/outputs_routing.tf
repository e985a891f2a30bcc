output "routing_router_queue_url" {
  description = "Router queue URL (Record Submitted events and records files)."
  value       = module.router_queue.url
}

output "routing_router_dlq_url" {
  description = "Router dead-letter queue URL."
  value       = module.router_queue.dlq_url
}

output "routing_router_function_name" {
  description = "Router function name."
  value       = module.record_router.function_name
}

output "routing_records_prefix" {
  description = "Prefix of the records files (JSON lines, *.jsonl) in the landing bucket."
  value       = local.records_prefix
}

output "routing_routes" {
  description = "Every route by data type: rule, queue, DLQ and processor."
  value = {
    for type in keys(var.routing_routes) : type => {
      rule_name     = local.route_rule_names[type]
      queue_name    = module.route_queue[type].name
      queue_url     = module.route_queue[type].url
      dlq_url       = module.route_queue[type].dlq_url
      dlq_arn       = module.route_queue[type].dlq_arn
      function_name = module.record_processor[type].function_name
    }
  }
}

output "routing_results_table_name" {
  description = "Routed-records results (one item per record, hash key record_id)."
  value       = module.routed_records_table.name
}

output "routing_unroutable_queue_url" {
  description = "Unroutable queue URL: Record Unroutable events, each with its reason."
  value       = module.unroutable_queue.url
}

output "routing_unroutable_dlq_url" {
  description = "Unroutable dead-letter queue URL."
  value       = module.unroutable_queue.dlq_url
}

output "routing_event_patterns" {
  description = "Event patterns of every pipeline 2 rule by rule name (JSON)."
  value = merge(
    module.routing_submitted_rule.event_patterns,
    module.routing_files_rule.event_patterns,
    module.routing_unroutable_rule.event_patterns,
    module.fanout_uploads_rule.event_patterns,
    module.fanout_completed_rule.event_patterns,
    merge([for r in values(module.route_rules) : r.event_patterns]...),
  )
}

output "fanout_uploads_prefix" {
  description = "Prefix of the uploads the S3 fan-out consumes in the landing bucket."
  value       = local.uploads_prefix
}

output "fanout_consumers" {
  description = "Every fan-out consumer by name: queue, DLQ and function."
  value = {
    for name in keys(var.fanout_consumers) : name => {
      queue_name    = module.fanout_queue[name].name
      queue_url     = module.fanout_queue[name].url
      dlq_url       = module.fanout_queue[name].dlq_url
      dlq_arn       = module.fanout_queue[name].dlq_arn
      function_name = module.fanout_consumer[name].function_name
    }
  }
}

output "fanout_jobs_table_name" {
  description = "Fan-out jobs (one item per upload version, hash key job_id): each consumer's result and who is done."
  value       = module.fanout_jobs_table.name
}

output "completions_topic_arn" {
  description = "SNS topic of Upload Processed events."
  value       = module.completions_topic.arn
}

output "completions_queue_url" {
  description = "The client's queue: SQS subscription (raw delivery) of the completions topic."
  value       = module.completions_queue.url
}
