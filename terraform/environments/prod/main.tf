# Production: a year of logs, protected data, strict alarms (any error, any throttle, dead letters older than
# 15 minutes).
module "stack" {
  source = "../../stack"

  environment      = "prod"
  artifacts_dir    = coalesce(var.artifacts_dir, abspath("${path.module}/../../../dist/aws"))
  artifacts_target = "aws"
  runtime          = var.runtime

  log_retention_days                        = 365
  log_level                                 = var.log_level
  kms_deletion_window_days                  = 30
  force_destroy_buckets                     = false
  table_deletion_protection                 = true
  point_in_time_recovery                    = true
  landing_expiration_days                   = 30
  output_noncurrent_version_expiration_days = 90

  ingest_function_timeout        = var.ingest_function_timeout
  ingest_function_memory         = var.ingest_function_memory
  ingest_batching_window_seconds = var.ingest_batching_window_seconds
  ingest_maximum_concurrency     = var.ingest_maximum_concurrency
  ingest_reserved_concurrency    = var.ingest_reserved_concurrency

  alarm_email                      = var.alarm_email
  dlq_age_alarm_threshold_seconds  = 900
  lambda_errors_alarm_threshold    = 0
  lambda_throttles_alarm_threshold = 0
  alarm_evaluation_periods         = 1

  # EventBridge archive of each bus: how far back `sluicectl replay` reaches
  event_archive_retention_days = 90
}
