# Pipeline 1 (seed 001, pattern 1): landing bucket -> EventBridge rule -> SQS (+DLQ) -> processor Lambda ->
# results table + output bucket; permanent failures -> failures table + DLQ.

# --- pipeline 1: ingest ---------------------------------------------------------------------------------------
# landing bucket (incoming/*.json) -> EventBridge rule -> ingest queue -> ingest processor -> output bucket
# (processed/*) + results table; permanent failures -> failures table + DLQ; transient ones retried, then DLQ.

module "ingest_results_table" {
  source = "../modules/table"

  name                   = local.names.results_table
  hash_key               = { name = "object_key" }
  kms_key_arn            = module.kms.key_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.table_deletion_protection
  tags                   = local.tags
}

module "ingest_queue" {
  source = "../modules/queue"

  name                       = local.names.ingest_queue
  kms_key_arn                = module.kms.key_arn
  visibility_timeout_seconds = local.ingest_visibility_timeout
  max_receive_count          = local.max_receive_count
  allowed_service_principals = [{ service = "events.amazonaws.com", source_arns = [local.ingest_rule_arn] }]
  # The DLQ also receives events EventBridge could not deliver to the queue (target dead-letter config).
  dlq_allowed_service_principals  = [{ service = "events.amazonaws.com", source_arns = [local.ingest_rule_arn] }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "ingest_rules" {
  source = "../modules/event_rules"

  rules = {
    (local.names.ingest_rule) = {
      description = "JSON objects created under ${local.incoming_prefix} in the landing bucket -> ingest queue"
      event_pattern = {
        source        = ["aws.s3"]
        "detail-type" = ["Object Created"]
        detail = {
          bucket = { name = [module.landing_bucket.name] }
          object = { key = [{ wildcard = "${local.incoming_prefix}*.json" }] }
        }
      }
      targets = {
        ingest-queue = {
          arn             = module.ingest_queue.arn
          dead_letter_arn = module.ingest_queue.dlq_arn
        }
      }
    }
  }
  tags = local.tags
}

module "ingest_processor" {
  source = "../modules/lambda_function"

  name          = local.names.ingest_function
  service_name  = "ingest-processor"
  environment   = var.environment
  description   = "Pipeline ingest: validates and transforms landed JSON objects"
  handler       = "ingest_processor.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/ingest_processor"].path}"
  package_hash  = local.artifacts["functions/ingest_processor"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = var.ingest_function_memory
  timeout       = var.ingest_function_timeout
  log_level     = var.log_level

  log_retention_days             = var.log_retention_days
  kms_key_arn                    = module.kms.key_arn
  reserved_concurrent_executions = var.ingest_reserved_concurrency

  environment_variables = {
    RESULTS_TABLE    = module.ingest_results_table.name
    OUTPUT_BUCKET    = module.output_bucket.name
    FAILURES_TABLE   = module.failures_table.name
    DLQ_URL          = module.ingest_queue.dlq_url
    MAX_OBJECT_BYTES = tostring(var.ingest_max_object_bytes)
  }

  sqs_event_sources = {
    ingest = {
      queue_arn                          = module.ingest_queue.arn
      batch_size                         = var.ingest_batch_size
      maximum_batching_window_in_seconds = var.ingest_batching_window_seconds
      maximum_concurrency                = var.ingest_maximum_concurrency
    }
  }

  policy_statements = [
    {
      # GetObjectVersion: events from a versioned bucket pin the version they describe.
      sid       = "ReadIncomingObjects"
      actions   = ["s3:GetObject", "s3:GetObjectVersion"]
      resources = ["${module.landing_bucket.arn}/${local.incoming_prefix}*"]
    },
    {
      # Without ListBucket, S3 answers a missing key with 403 AccessDenied instead of 404 NoSuchKey, and the
      # function would retry a permanent failure as a transient one.
      sid       = "DistinguishMissingIncomingObjects"
      actions   = ["s3:ListBucket"]
      resources = [module.landing_bucket.arn]
    },
    {
      # PutObject with If-None-Match, then HeadObject (needs s3:GetObject) to compare when the key exists.
      sid       = "WriteProcessedObjects"
      actions   = ["s3:PutObject", "s3:GetObject"]
      resources = ["${module.output_bucket.arn}/${local.processed_prefix}*"]
    },
    {
      sid       = "WriteResults"
      actions   = ["dynamodb:PutItem", "dynamodb:GetItem"]
      resources = [module.ingest_results_table.arn]
    },
    {
      sid       = "RecordFailures"
      actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [module.failures_table.arn]
    },
    {
      # Permanent failures are dead-lettered directly, never retried.
      sid       = "DeadLetterPermanentFailures"
      actions   = ["sqs:SendMessage"]
      resources = [module.ingest_queue.dlq_arn]
    },
    {
      # Objects, queue messages and items are encrypted with the environment key (used through S3/SQS/DynamoDB).
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
