output "feedback_url" {
  description = "POST <url> with {\"job_id\", \"label\"} labels a prediction (the inference HTTP API's /feedback route)."
  value       = "${local.inference_api_url}/feedback"
}

output "feedback_table_name" {
  description = "Feedback store: one label item per job id and the #state item (pending labels, request and run claims)."
  value       = module.feedback_table.name
}

output "feedback_bucket_name" {
  description = "Bucket holding the labelled images (feedback/<model>/images/<job id>)."
  value       = module.feedback_bucket.name
}

output "feedback_api_function_name" {
  description = "Feedback API function name."
  value       = module.feedback_api.function_name
}

output "model_retrainer_function_name" {
  description = "Model retrainer function name."
  value       = module.model_retrainer.function_name
}

output "retraining_queue_url" {
  description = "Queue in front of the retrainer (RetrainingRequested events and the schedule)."
  value       = module.retraining_queue.url
}

output "retraining_dlq_url" {
  description = "Dead-letter queue of the retraining queue."
  value       = module.retraining_queue.dlq_url
}

output "retraining_schedule_rule_name" {
  description = "Scheduled EventBridge rule (default bus) of the periodic retraining."
  value       = local.retraining.schedule_rule
}

output "retraining_label_threshold" {
  description = "New labels that start a retraining run."
  value       = var.retraining_label_threshold
}

output "train_layer_arn" {
  description = "Version ARN of the train layer."
  value       = module.train_layer.arn
}
