output "documents_state_machine_arn" {
  description = "ARN of the document workflow (pipeline 4); executions are named sha256(key#ETag)."
  value       = module.documents_workflow.arn
}

output "documents_analysis_state_machine_arn" {
  description = "ARN of the nested EXPRESS analysis workflow (sentiment || summary) the document workflow runs with startExecution.sync:2."
  value       = module.documents_analysis.arn
}

output "documents_start_function_name" {
  description = "The function the documents rule invokes; it starts the document workflow once per document version."
  value       = module.documents_start.function_name
}

output "documents_start_dlq_url" {
  description = "Dead-letter queue of failed workflow starts (EventBridge target DLQ and the start function's DLQ)."
  value       = module.documents_start_queue.dlq_url
}

output "documents_ended_function_name" {
  description = "The function the documents-execution-ended rule invokes: a failure item for a document execution that timed out, was aborted or failed past its Catch path."
  value       = module.documents_ended.function_name
}

output "documents_ended_dlq_url" {
  description = "Dead-letter queue of execution-ended events that could not be recorded (EventBridge target DLQ and the function's DLQ)."
  value       = module.documents_ended_queue.dlq_url
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
