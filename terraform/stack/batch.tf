# Scheduled batch (seed 001, pattern 5): a daily EventBridge schedule aggregates yesterday's processed objects of
# pipeline 1 by category into a report in the output bucket.
#
# rule cron(5 0 * * ? *) (default bus) --> daily-report queue (+DLQ after 3 receives) --> daily-report function
#   --> Scan of the ingest results table for the day before the event's time --> output bucket
#       reports/<date>/by_category.csv + reports/<date>/report.json (If-None-Match: written once per day)
#
# The queue between the schedule and the function gives the run SQS's retries and a DLQ with alarms, as every
# other pipeline has; the event keeps its scheduled `time`, so a retried or replayed run reports the right day.

locals {
  batch = {
    queue         = "${local.prefix}-daily-report"
    rule          = "${local.prefix}-daily-report"
    function      = "${local.prefix}-daily-report"
    report_prefix = "reports/"
  }
  daily_report_rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.batch.rule}"
}

module "daily_report_queue" {
  source = "../modules/queue"

  name                            = local.batch.queue
  kms_key_arn                     = module.kms.key_arn
  visibility_timeout_seconds      = 6 * var.daily_report_function_timeout
  max_receive_count               = local.max_receive_count
  allowed_service_principals      = [{ service = "events.amazonaws.com", source_arns = [local.daily_report_rule_arn] }]
  dlq_allowed_service_principals  = [{ service = "events.amazonaws.com", source_arns = [local.daily_report_rule_arn] }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "daily_report_rules" {
  source = "../modules/event_rules"

  rules = {
    (local.batch.rule) = {
      description         = "Daily: yesterday's processed objects by category -> ${local.batch.report_prefix}<date>/ in the output bucket"
      schedule_expression = var.daily_report_schedule
      state               = var.daily_report_enabled ? "ENABLED" : "DISABLED"
      targets = {
        daily-report-queue = {
          arn             = module.daily_report_queue.arn
          dead_letter_arn = module.daily_report_queue.dlq_arn
        }
      }
    }
  }
  tags = local.tags
}

module "daily_report" {
  source = "../modules/lambda_function"

  name          = local.batch.function
  service_name  = "daily-report"
  environment   = var.environment
  description   = "Scheduled batch: yesterday's processed objects by category -> report in S3"
  handler       = "daily_report.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/daily_report"].path}"
  package_hash  = local.artifacts["functions/daily_report"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = var.daily_report_function_memory
  timeout       = var.daily_report_function_timeout
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    RESULTS_TABLE  = module.ingest_results_table.name
    OUTPUT_BUCKET  = module.output_bucket.name
    FAILURES_TABLE = module.failures_table.name
    DLQ_URL        = module.daily_report_queue.dlq_url
  }

  sqs_event_sources = {
    daily-report = {
      queue_arn  = module.daily_report_queue.arn
      batch_size = 1
      # A report at a time (2 is SQS's minimum cap): a replayed backlog cannot starve the pipelines. A cap on the
      # mapping, not reserved concurrency: reserved concurrency under SQS pollers throttles and dead-letters.
      maximum_concurrency = 2
    }
  }

  policy_statements = [
    {
      sid       = "ReadResults"
      actions   = ["dynamodb:Scan"]
      resources = [module.ingest_results_table.arn]
    },
    {
      # PutObject with If-None-Match; HeadObject (s3:GetObject) to skip a day already reported.
      sid       = "WriteReports"
      actions   = ["s3:PutObject", "s3:GetObject"]
      resources = ["${module.output_bucket.arn}/${local.batch.report_prefix}*"]
    },
    {
      # Without ListBucket, HeadObject of a report not written yet is 403, not 404.
      sid       = "DistinguishMissingReports"
      actions   = ["s3:ListBucket"]
      resources = [module.output_bucket.arn]
    },
    {
      sid       = "RecordFailures"
      actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [module.failures_table.arn]
    },
    {
      sid       = "DeadLetterPermanentFailures"
      actions   = ["sqs:SendMessage"]
      resources = [module.daily_report_queue.dlq_arn]
    },
    {
      sid       = "UseEnvironmentKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [module.kms.key_arn]
    },
  ]

  alarm_topic_arn           = module.alarm_topic.arn
  errors_alarm_threshold    = var.lambda_errors_alarm_threshold
  throttles_alarm_threshold = var.lambda_throttles_alarm_threshold
  alarm_evaluation_periods  = var.alarm_evaluation_periods
  tags                      = local.tags
}
