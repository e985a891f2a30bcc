# Development on real AWS: short retention, relaxed alarms, disposable data.
module "stack" {
  source = "../../stack"

  environment      = "dev"
  artifacts_dir    = coalesce(var.artifacts_dir, abspath("${path.module}/../../../dist/aws"))
  artifacts_target = "aws"
  runtime          = var.runtime

  log_retention_days                        = 14
  log_level                                 = var.log_level
  kms_deletion_window_days                  = 7
  force_destroy_buckets                     = true
  table_deletion_protection                 = false
  landing_expiration_days                   = 7
  output_noncurrent_version_expiration_days = 7

  ingest_function_timeout        = var.ingest_function_timeout
  ingest_function_memory         = var.ingest_function_memory
  ingest_batching_window_seconds = var.ingest_batching_window_seconds
  ingest_maximum_concurrency     = var.ingest_maximum_concurrency
  ingest_reserved_concurrency    = var.ingest_reserved_concurrency

  alarm_email                      = var.alarm_email
  dlq_age_alarm_threshold_seconds  = 86400
  lambda_errors_alarm_threshold    = 5
  lambda_throttles_alarm_threshold = 5
  alarm_evaluation_periods         = 3

  # EventBridge archive of each bus: how far back `sluicectl replay` reaches
  event_archive_retention_days = 7
}
