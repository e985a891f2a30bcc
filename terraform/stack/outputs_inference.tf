output "inference_api_url" {
  description = "Base URL of the inference HTTP API (POST <url>/predictions, GET <url>/predictions/{id})."
  value       = local.inference_api_url
}

output "inference_api_id" {
  description = "Id of the inference HTTP API."
  value       = module.inference_http_api.api_id
}

output "inference_api_stage_name" {
  description = "Stage of the inference HTTP API."
  value       = module.inference_http_api.stage_name
}

output "inference_api_function_name" {
  description = "Inference API function name."
  value       = module.inference_api.function_name
}

output "inference_worker_function_name" {
  description = "Inference worker function name."
  value       = module.inference_worker.function_name
}

output "inference_inputs_bucket_name" {
  description = "Bucket holding uploaded images (inputs/<job id>)."
  value       = module.inference_inputs_bucket.name
}

output "inference_model_bucket_name" {
  description = "Versioned bucket holding models (models/<name>/<version>/model.onnx + card.json) and their current pointers (models/<name>/current.json)."
  value       = module.model_bucket.name
}

output "inference_model_name" {
  description = "Model the worker serves."
  value       = var.inference_model_name
}

output "inference_jobs_table_name" {
  description = "Prediction jobs, hash key job_id, TTL expires_at."
  value       = module.predictions_table.name
}

output "inference_queue_url" {
  description = "Inference queue URL."
  value       = module.inference_queue.url
}

output "inference_dlq_url" {
  description = "Inference dead-letter queue URL."
  value       = module.inference_queue.dlq_url
}

output "inference_dlq_arn" {
  description = "Inference dead-letter queue ARN."
  value       = module.inference_queue.dlq_arn
}

output "inference_rule_name" {
  description = "EventBridge rule routing uploaded images to the inference queue (default bus)."
  value       = one(module.inference_rules.rule_names)
}

output "ml_layer_arn" {
  description = "Version ARN of the ml layer."
  value       = module.ml_layer.arn
}

output "inference_api_route_authorization" {
  description = "Authorization type of every route of the inference HTTP API, by route key (no route is public)."
  value       = module.inference_http_api.route_authorization
}
