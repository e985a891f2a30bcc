output "documents_state_machine_arn" {
  description = "ARN of the document workflow (pipeline 4); executions are named sha256(key#ETag)."
  value       = module.documents_workflow.arn
}

output "documents_starter_state_machine_arn" {
  description = "ARN of the machine the documents rule starts; it starts the document workflow once per document version."
  value       = module.documents_starter.arn
}

output "documents_results_table_name" {
  description = "Document results, hash key document_id."
  value       = module.documents_results_table.name
}

output "documents_prefix" {
  description = "Landing-bucket prefix of the documents that start the workflow."
  value       = var.documents_prefix
}

output "documents_rule_name" {
  description = "EventBridge rule starting the document workflow (default bus)."
  value       = one(module.documents_rules.rule_names)
}

output "documents_function_names" {
  description = "Document step functions, step => function name."
  value       = { for step, fn in module.document_steps : step => fn.function_name }
}

output "workflow_notices_topic_arn" {
  description = "SNS topic of workflow notices (message attributes pipeline and outcome)."
  value       = module.workflow_notices_topic.arn
}

output "etl_state_machine_arn" {
  description = "ARN of the generic ETL state machine (Extract -> Transform -> Load -> Notify)."
  value       = module.etl_workflow.arn
}
