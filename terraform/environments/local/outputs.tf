# Re-exports of every stack output (terraform output -json; sluicectl and the tests read these). Generated from
# terraform/stack/outputs*.tf by tests/unit/test_terraform.py (SLUICE_TF_DOCS=update rewrites this file).

output "environment" {
  description = "Environment name."
  value       = module.stack.environment
}

output "prefix" {
  description = "Name prefix of every resource (sluice-<environment>)."
  value       = module.stack.prefix
}

output "account_id" {
  description = "AWS account id the stack is deployed in."
  value       = module.stack.account_id
}

output "region" {
  description = "AWS region the stack is deployed in."
  value       = module.stack.region
}

output "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key."
  value       = module.stack.kms_key_arn
}

output "kms_key_alias" {
  description = "Alias of the environment key (alias/sluice-<environment>)."
  value       = module.stack.kms_key_alias
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = module.stack.alarm_topic_arn
}

output "shared_layer_arn" {
  description = "Version ARN of the shared layer."
  value       = module.stack.shared_layer_arn
}

output "landing_bucket_name" {
  description = "Bucket where inputs land (ingest reads incoming/*.json)."
  value       = module.stack.landing_bucket_name
}

output "output_bucket_name" {
  description = "Bucket where results are written (ingest writes processed/...)."
  value       = module.stack.output_bucket_name
}

output "idempotency_table_name" {
  description = "Idempotency records (Powertools), hash key id, TTL expiration."
  value       = module.stack.idempotency_table_name
}

output "failures_table_name" {
  description = "Failure records, hash key pipeline, range key item_id."
  value       = module.stack.failures_table_name
}

output "access_log_bucket_name" {
  description = "Bucket receiving the S3 server access logs of every other bucket."
  value       = module.stack.access_log_bucket_name
}

output "domain_bus_name" {
  description = "The domain event bus (typed events the pipelines publish)."
  value       = module.stack.domain_bus_name
}

output "domain_bus_arn" {
  description = "ARN of the domain event bus."
  value       = module.stack.domain_bus_arn
}

output "function_names" {
  description = "All function names by function package name (functions/<name>; <name>_<key> for a package deployed once per route or consumer)."
  value       = module.stack.function_names
}

output "alarm_names" {
  description = "All alarm names."
  value       = module.stack.alarm_names
}

output "queues" {
  description = "Every queue by purpose, with its DLQ, redrive policy, KMS keys and DLQ alarms as applied."
  value       = module.stack.queues
}

output "buckets" {
  description = "Every bucket by purpose, with its encryption and public access block as applied."
  value       = module.stack.buckets
}

output "tables" {
  description = "Every table by purpose, with its encryption and recovery settings as applied."
  value       = module.stack.tables
}

output "pipelines" {
  description = "Structured description of every pipeline (trigger, queue, functions, tables, output), for scripts that discover resources."
  value       = module.stack.pipelines
}

output "api_keys_parameter" {
  description = "SSM SecureString parameter holding the HTTP API key hashes ({client: sha256 hex}); manage keys with `sluicectl api-key`."
  value       = module.stack.api_keys_parameter
}

output "daily_report_function_name" {
  description = "Daily report function name."
  value       = module.stack.daily_report_function_name
}

output "daily_report_rule_name" {
  description = "Scheduled EventBridge rule (default bus) that starts the daily report."
  value       = module.stack.daily_report_rule_name
}

output "daily_report_queue_url" {
  description = "Queue between the daily schedule and the report function (sluicectl daily-report --date puts replays here)."
  value       = module.stack.daily_report_queue_url
}

output "daily_report_dlq_url" {
  description = "Dead-letter queue of the daily report."
  value       = module.stack.daily_report_dlq_url
}

output "daily_report_prefix" {
  description = "Where reports go in the output bucket: <prefix><YYYY-MM-DD>/report.json and by_category.csv."
  value       = module.stack.daily_report_prefix
}

output "documents_state_machine_arn" {
  description = "ARN of the document workflow (pipeline 4); executions are named sha256(key#ETag)."
  value       = module.stack.documents_state_machine_arn
}

output "documents_analysis_state_machine_arn" {
  description = "ARN of the nested EXPRESS analysis workflow (sentiment || summary) the document workflow runs with startExecution.sync:2."
  value       = module.stack.documents_analysis_state_machine_arn
}

output "documents_start_function_name" {
  description = "The function the documents rule invokes; it starts the document workflow once per document version."
  value       = module.stack.documents_start_function_name
}

output "documents_start_dlq_url" {
  description = "Dead-letter queue of failed workflow starts (EventBridge target DLQ and the start function's DLQ)."
  value       = module.stack.documents_start_dlq_url
}

output "documents_ended_function_name" {
  description = "The function the documents-execution-ended rule invokes: a failure item for a document execution that timed out, was aborted or failed past its Catch path."
  value       = module.stack.documents_ended_function_name
}

output "documents_ended_dlq_url" {
  description = "Dead-letter queue of execution-ended events that could not be recorded (EventBridge target DLQ and the function's DLQ)."
  value       = module.stack.documents_ended_dlq_url
}

output "documents_results_table_name" {
  description = "Document results, hash key document_id."
  value       = module.stack.documents_results_table_name
}

output "documents_prefix" {
  description = "Landing-bucket prefix of the documents that start the workflow."
  value       = module.stack.documents_prefix
}

output "documents_rule_name" {
  description = "EventBridge rule starting the document workflow (default bus)."
  value       = module.stack.documents_rule_name
}

output "documents_function_names" {
  description = "Document step functions, step => function name."
  value       = module.stack.documents_function_names
}

output "workflow_notices_topic_arn" {
  description = "SNS topic of workflow notices (message attributes pipeline and outcome)."
  value       = module.stack.workflow_notices_topic_arn
}

output "etl_state_machine_arn" {
  description = "ARN of the generic ETL state machine (Extract -> Transform -> Load -> Notify)."
  value       = module.stack.etl_state_machine_arn
}

output "inference_api_url" {
  description = "Base URL of the inference HTTP API (POST <url>/predictions, GET <url>/predictions/{id})."
  value       = module.stack.inference_api_url
}

output "inference_api_id" {
  description = "Id of the inference HTTP API."
  value       = module.stack.inference_api_id
}

output "inference_api_stage_name" {
  description = "Stage of the inference HTTP API."
  value       = module.stack.inference_api_stage_name
}

output "inference_api_function_name" {
  description = "Inference API function name."
  value       = module.stack.inference_api_function_name
}

output "inference_worker_function_name" {
  description = "Inference worker function name."
  value       = module.stack.inference_worker_function_name
}

output "inference_inputs_bucket_name" {
  description = "Bucket holding uploaded images (inputs/<job id>)."
  value       = module.stack.inference_inputs_bucket_name
}

output "inference_model_bucket_name" {
  description = "Versioned bucket holding models (models/<name>/<version>/model.onnx + card.json) and their current pointers (models/<name>/current.json)."
  value       = module.stack.inference_model_bucket_name
}

output "inference_model_name" {
  description = "Model the worker serves."
  value       = module.stack.inference_model_name
}

output "inference_jobs_table_name" {
  description = "Prediction jobs, hash key job_id, TTL expires_at."
  value       = module.stack.inference_jobs_table_name
}

output "inference_queue_url" {
  description = "Inference queue URL."
  value       = module.stack.inference_queue_url
}

output "inference_dlq_url" {
  description = "Inference dead-letter queue URL."
  value       = module.stack.inference_dlq_url
}

output "inference_dlq_arn" {
  description = "Inference dead-letter queue ARN."
  value       = module.stack.inference_dlq_arn
}

output "inference_rule_name" {
  description = "EventBridge rule routing uploaded images to the inference queue (default bus)."
  value       = module.stack.inference_rule_name
}

output "ml_layer_arn" {
  description = "Version ARN of the ml layer."
  value       = module.stack.ml_layer_arn
}

output "inference_api_route_authorization" {
  description = "Authorization type of every route of the inference HTTP API, by route key (no route is public)."
  value       = module.stack.inference_api_route_authorization
}

output "ingest_results_table_name" {
  description = "Ingest results, hash key object_key."
  value       = module.stack.ingest_results_table_name
}

output "ingest_queue_name" {
  description = "Ingest queue name."
  value       = module.stack.ingest_queue_name
}

output "ingest_queue_url" {
  description = "Ingest queue URL."
  value       = module.stack.ingest_queue_url
}

output "ingest_queue_arn" {
  description = "Ingest queue ARN."
  value       = module.stack.ingest_queue_arn
}

output "ingest_dlq_name" {
  description = "Ingest dead-letter queue name."
  value       = module.stack.ingest_dlq_name
}

output "ingest_dlq_url" {
  description = "Ingest dead-letter queue URL."
  value       = module.stack.ingest_dlq_url
}

output "ingest_dlq_arn" {
  description = "Ingest dead-letter queue ARN."
  value       = module.stack.ingest_dlq_arn
}

output "ingest_function_name" {
  description = "Ingest processor function name."
  value       = module.stack.ingest_function_name
}

output "ingest_function_arn" {
  description = "Ingest processor function ARN."
  value       = module.stack.ingest_function_arn
}

output "ingest_log_group_name" {
  description = "Log group of the ingest processor."
  value       = module.stack.ingest_log_group_name
}

output "ingest_rule_name" {
  description = "EventBridge rule routing landed objects to the ingest queue (default bus)."
  value       = module.stack.ingest_rule_name
}

output "ingest_event_pattern" {
  description = "Event pattern of the ingest rule (JSON)."
  value       = module.stack.ingest_event_pattern
}

output "event_archives" {
  description = "EventBridge archive of each bus by short name (default, domain): name, ARN, bus and retention, as applied."
  value       = module.stack.event_archives
}

output "dashboard_name" {
  description = "The environment's CloudWatch dashboard."
  value       = module.stack.dashboard_name
}

output "dashboard_alarm_arns" {
  description = "Alarms shown in the dashboard's status widgets, read back from the dashboard body (every alarm of the stack)."
  value       = module.stack.dashboard_alarm_arns
}

output "feedback_url" {
  description = "POST <url> with {\"job_id\", \"label\"} labels a prediction (the inference HTTP API's /feedback route)."
  value       = module.stack.feedback_url
}

output "feedback_table_name" {
  description = "Feedback store: one label item per job id and the #state item (pending labels, request and run claims)."
  value       = module.stack.feedback_table_name
}

output "feedback_bucket_name" {
  description = "Bucket holding the labelled images (feedback/<model>/images/<job id>)."
  value       = module.stack.feedback_bucket_name
}

output "feedback_api_function_name" {
  description = "Feedback API function name."
  value       = module.stack.feedback_api_function_name
}

output "model_retrainer_function_name" {
  description = "Model retrainer function name."
  value       = module.stack.model_retrainer_function_name
}

output "retraining_queue_url" {
  description = "Queue in front of the retrainer (RetrainingRequested events and the schedule)."
  value       = module.stack.retraining_queue_url
}

output "retraining_dlq_url" {
  description = "Dead-letter queue of the retraining queue."
  value       = module.stack.retraining_dlq_url
}

output "retraining_schedule_rule_name" {
  description = "Scheduled EventBridge rule (default bus) of the periodic retraining."
  value       = module.stack.retraining_schedule_rule_name
}

output "retraining_label_threshold" {
  description = "New labels that start a retraining run."
  value       = module.stack.retraining_label_threshold
}

output "train_layer_arn" {
  description = "Version ARN of the train layer."
  value       = module.stack.train_layer_arn
}

output "routing_router_queue_url" {
  description = "Router queue URL (Record Submitted events and records files)."
  value       = module.stack.routing_router_queue_url
}

output "routing_router_dlq_url" {
  description = "Router dead-letter queue URL."
  value       = module.stack.routing_router_dlq_url
}

output "routing_router_function_name" {
  description = "Router function name."
  value       = module.stack.routing_router_function_name
}

output "routing_records_prefix" {
  description = "Prefix of the records files (JSON lines, *.jsonl) in the landing bucket."
  value       = module.stack.routing_records_prefix
}

output "routing_routes" {
  description = "Every route by data type: rule, queue, DLQ and processor."
  value       = module.stack.routing_routes
}

output "routing_results_table_name" {
  description = "Routed-records results (one item per record, hash key record_id)."
  value       = module.stack.routing_results_table_name
}

output "routing_unroutable_queue_url" {
  description = "Unroutable queue URL: Record Unroutable events, each with its reason."
  value       = module.stack.routing_unroutable_queue_url
}

output "routing_unroutable_dlq_url" {
  description = "Unroutable dead-letter queue URL."
  value       = module.stack.routing_unroutable_dlq_url
}

output "routing_event_patterns" {
  description = "Event patterns of every pipeline 2 rule by rule name (JSON)."
  value       = module.stack.routing_event_patterns
}

output "fanout_uploads_prefix" {
  description = "Prefix of the uploads the S3 fan-out consumes in the landing bucket."
  value       = module.stack.fanout_uploads_prefix
}

output "fanout_consumers" {
  description = "Every fan-out consumer by name: queue, DLQ and function."
  value       = module.stack.fanout_consumers
}

output "fanout_jobs_table_name" {
  description = "Fan-out jobs (one item per upload version, hash key job_id): each consumer's result and who is done."
  value       = module.stack.fanout_jobs_table_name
}

output "completions_topic_arn" {
  description = "SNS topic of Upload Processed events."
  value       = module.stack.completions_topic_arn
}

output "completions_queue_url" {
  description = "The client's queue: SQS subscription (raw delivery) of the completions topic."
  value       = module.stack.completions_queue_url
}

output "stream_name" {
  description = "Kinesis stream of transactions (partition key: the user)."
  value       = module.stack.stream_name
}

output "stream_arn" {
  description = "ARN of the transactions stream."
  value       = module.stack.stream_arn
}

output "stream_encryption" {
  description = "Server-side encryption of the transactions stream as applied."
  value       = module.stack.stream_encryption
}

output "stream_alarms" {
  description = "The transactions stream's alarms (iterator age, throttled writes) as applied."
  value       = module.stack.stream_alarms
}

output "fraud_scorer_function_name" {
  description = "Fraud scorer function name."
  value       = module.stack.fraud_scorer_function_name
}

output "fraud_scorer_mapping_uuid" {
  description = "UUID of the scorer's Kinesis event source mapping."
  value       = module.stack.fraud_scorer_mapping_uuid
}

output "fraud_scorer_event_source" {
  description = "The scorer's Kinesis event source mapping as applied (batching, bisect, retries, on-failure destination)."
  value       = module.stack.fraud_scorer_event_source
}

output "fraud_audit_function_name" {
  description = "Fraud audit function name."
  value       = module.stack.fraud_audit_function_name
}

output "fraud_audit_mapping_uuid" {
  description = "UUID of the audit function's DynamoDB Streams event source mapping."
  value       = module.stack.fraud_audit_mapping_uuid
}

output "fraud_features_table_name" {
  description = "The feature store: per-user state (last location and time, rolling features), hash key user_id."
  value       = module.stack.fraud_features_table_name
}

output "fraud_alerts_table_name" {
  description = "Fraud alerts, hash key alert_id, with a NEW_IMAGE stream feeding the audit function."
  value       = module.stack.fraud_alerts_table_name
}

output "fraud_scorer_failures_queue_url" {
  description = "On-failure destination of the scorer's mapping: one invocation record per batch given up on."
  value       = module.stack.fraud_scorer_failures_queue_url
}

output "fraud_audit_failures_queue_url" {
  description = "On-failure destination of the audit function's mapping."
  value       = module.stack.fraud_audit_failures_queue_url
}

output "fraud_alerts_topic_arn" {
  description = "SNS topic FraudSuspected alerts are sent to (subscribe a queue, an email, a pager)."
  value       = module.stack.fraud_alerts_topic_arn
}

output "fraud_audit_bucket_name" {
  description = "Bucket holding an audit record per alert (audit/<date>/<alert id>.json)."
  value       = module.stack.fraud_audit_bucket_name
}

output "fraud_model_name" {
  description = "Fraud model the scorer serves (models/<name>/current.json in the model bucket)."
  value       = module.stack.fraud_model_name
}
