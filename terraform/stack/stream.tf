# Pipeline 5 (seed 001 pattern 4, seed 004's fraud detection): real-time fraud scoring of a transaction stream.
#
# producer --PutRecords (partition key = user)--> Kinesis transactions stream (KMS, N shards)
#   --> fraud-scorer (a poller per shard; batches in order; bisect on error; partial batch responses;
#       on-failure records -> scorer failures queue) : per batch one BatchGetItem of the users' state (feature
#       store), the seed's rule (amount > 5,000 and > 1,000 miles from the last transaction within 1 hour,
#       haversine) + an ONNX model score, BatchWriteItem of the new state and of the alerts,
#       FraudSuspected events (PutEvents, 10 per call) on the domain bus
# domain bus --rule FraudSuspected--> SNS fraud-alerts topic (subscribers: SQS, email, paging)
# alerts table --DynamoDB Stream (NEW_IMAGE)--> fraud-audit --> audit bucket (audit/<date>/<alert id>.json)

locals {
  stream = {
    transactions       = "${local.prefix}-transactions"
    features_table     = "${local.prefix}-fraud-features"
    alerts_table       = "${local.prefix}-fraud-alerts"
    scorer_failures    = "${local.prefix}-fraud-scorer-failures"
    audit_failures     = "${local.prefix}-fraud-audit-failures"
    alerts_topic       = "${local.prefix}-fraud-alerts"
    audit_bucket       = "${local.prefix}-${local.account_id}-fraud-audit"
    suspected_rule     = "${local.prefix}-fraud-suspected"
    scorer_function    = "${local.prefix}-fraud-scorer"
    audit_function     = "${local.prefix}-fraud-audit"
    source             = "sluice.fraud"
    detail_type        = "FraudSuspected"
    audit_prefix       = "audit/"
    model_prefix_fraud = "models/${var.fraud_model_name}/"
  }

  stream_queues  = { fraud_scorer_failures = module.fraud_scorer_failures, fraud_audit_failures = module.fraud_audit_failures }
  stream_tables  = { fraud_features = module.fraud_features_table, fraud_alerts = module.fraud_alerts_table }
  stream_buckets = { fraud_audit = module.fraud_audit_bucket }
  stream_function_names = {
    fraud_scorer = module.fraud_scorer.function_name
    fraud_audit  = module.fraud_audit.function_name
  }
  stream_alarm_names = concat(
    module.transactions_stream.alarm_names,
    module.fraud_scorer_failures.alarm_names,
    module.fraud_audit_failures.alarm_names,
    module.fraud_scorer.alarm_names,
    module.fraud_audit.alarm_names,
    [for a in aws_cloudwatch_metric_alarm.stream_records_given_up : a.alarm_name],
  )
}

module "transactions_stream" {
  source = "../modules/kinesis_stream"

  name                            = local.stream.transactions
  kms_key_arn                     = module.kms.key_arn
  stream_mode                     = var.stream_mode
  shard_count                     = var.stream_shard_count
  retention_hours                 = var.stream_retention_hours
  alarm_topic_arn                 = module.alarm_topic.arn
  iterator_age_alarm_threshold_ms = var.stream_iterator_age_alarm_threshold_ms
  alarm_evaluation_periods        = var.alarm_evaluation_periods
  tags                            = local.tags
}

# The feature store: one item per user (last location and time, rolling amount features, the last sequence
# number applied), read and written a batch at a time.
module "fraud_features_table" {
  source = "../modules/table"

  name                   = local.stream.features_table
  hash_key               = { name = "user_id" }
  ttl_attribute          = "expires_at"
  kms_key_arn            = module.kms.key_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.table_deletion_protection
  tags                   = local.tags
}

module "fraud_alerts_table" {
  source = "../modules/table"

  name                   = local.stream.alerts_table
  hash_key               = { name = "alert_id" }
  ttl_attribute          = "expires_at"
  stream_view_type       = "NEW_IMAGE"
  kms_key_arn            = module.kms.key_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.table_deletion_protection
  tags                   = local.tags
}

# On-failure destinations: one invocation record (shard, sequence numbers, batch size; never the data) per batch
# the pollers gave up on. Nothing consumes them automatically: an operator reads them, fixes the cause and replays
# the range from the stream; the alarm below fires on the first one.
module "fraud_scorer_failures" {
  source = "../modules/queue"

  name                            = local.stream.scorer_failures
  kms_key_arn                     = module.kms.key_arn
  message_retention_seconds       = 1209600
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "fraud_audit_failures" {
  source = "../modules/queue"

  name                            = local.stream.audit_failures
  kms_key_arn                     = module.kms.key_arn
  message_retention_seconds       = 1209600
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

resource "aws_cloudwatch_metric_alarm" "stream_records_given_up" {
  for_each = { scorer = module.fraud_scorer_failures.name, audit = module.fraud_audit_failures.name }

  alarm_name          = "${each.value}-messages-visible"
  alarm_description   = "A stream poller gave up on records (on-failure records in ${each.value}): read them, fix the cause, replay the range."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.alarm_topic.arn]
  ok_actions          = [module.alarm_topic.arn]
  tags                = local.tags
}

module "fraud_audit_bucket" {
  source = "../modules/bucket"

  name                               = local.stream.audit_bucket
  kms_key_arn                        = module.kms.key_arn
  versioning_enabled                 = true
  noncurrent_version_expiration_days = var.fraud_audit_noncurrent_version_expiration_days
  force_destroy                      = var.force_destroy_buckets
  access_logging                     = true
  access_log_bucket                  = module.access_logs.name
  tags                               = local.tags
}

module "fraud_alerts_topic" {
  source = "../modules/topic"

  name        = local.stream.alerts_topic
  kms_key_arn = module.kms.key_arn
  publishers = [{
    service     = "events.amazonaws.com"
    source_arns = ["${local.domain_rule_arn_prefix}/${local.stream.suspected_rule}"]
  }]
  tags = local.tags
}

module "fraud_rules" {
  source = "../modules/event_rules"

  rules = {
    (local.stream.suspected_rule) = {
      event_bus_name = aws_cloudwatch_event_bus.domain.name
      description    = "FraudSuspected alerts from the fraud scorer -> the fraud alerts topic"
      event_pattern = {
        source        = [local.stream.source]
        "detail-type" = [local.stream.detail_type]
      }
      targets = {
        fraud-alerts-topic = { arn = module.fraud_alerts_topic.arn }
      }
    }
  }
  tags = local.tags
}

module "fraud_scorer" {
  source = "../modules/lambda_function"

  name          = local.stream.scorer_function
  service_name  = "fraud-scorer"
  environment   = var.environment
  description   = "Pipeline stream: scores transactions from the Kinesis stream (rule + ONNX model), keeps per-user features, raises FraudSuspected alerts"
  handler       = "fraud_scorer.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/fraud_scorer"].path}"
  package_hash  = local.artifacts["functions/fraud_scorer"].sha256_base64
  layers        = [module.shared_layer.arn, module.ml_layer.arn]
  memory_size   = var.fraud_scorer_memory
  timeout       = var.fraud_scorer_timeout
  log_level     = var.log_level

  log_retention_days             = var.log_retention_days
  kms_key_arn                    = module.kms.key_arn
  reserved_concurrent_executions = var.fraud_scorer_reserved_concurrency

  environment_variables = {
    FEATURES_TABLE            = module.fraud_features_table.name
    ALERTS_TABLE              = module.fraud_alerts_table.name
    EVENT_BUS_NAME            = aws_cloudwatch_event_bus.domain.name
    MODEL_BUCKET              = module.model_bucket.name
    MODEL_NAME                = var.fraud_model_name
    MODEL_POINTER_TTL_SECONDS = tostring(var.inference_model_pointer_ttl_seconds)
    MODEL_THRESHOLD           = tostring(var.fraud_model_threshold)
    RULE_AMOUNT               = tostring(var.fraud_rule_amount)
    RULE_DISTANCE_MILES       = tostring(var.fraud_rule_distance_miles)
    RULE_WINDOW_SECONDS       = tostring(var.fraud_rule_window_seconds)
    FAILURES_TABLE            = module.failures_table.name
  }

  stream_event_sources = {
    transactions = {
      event_source_arn                   = module.transactions_stream.arn
      starting_position                  = "TRIM_HORIZON"
      batch_size                         = var.fraud_scorer_batch_size
      maximum_batching_window_in_seconds = var.fraud_scorer_batching_window_seconds
      parallelization_factor             = var.fraud_scorer_parallelization_factor
      bisect_batch_on_function_error     = true
      maximum_retry_attempts             = var.fraud_scorer_maximum_retry_attempts
      maximum_record_age_in_seconds      = var.fraud_scorer_maximum_record_age_seconds
      on_failure_destination_arn         = module.fraud_scorer_failures.arn
    }
  }

  policy_statements = [
    {
      sid       = "ReadWriteFeatures"
      actions   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"]
      resources = [module.fraud_features_table.arn]
    },
    {
      sid       = "WriteAlerts"
      actions   = ["dynamodb:BatchWriteItem"]
      resources = [module.fraud_alerts_table.arn]
    },
    {
      sid       = "PublishAlerts"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.domain.arn]
    },
    {
      sid       = "ReadModels"
      actions   = ["s3:GetObject"]
      resources = ["${module.model_bucket.arn}/${local.stream.model_prefix_fraud}*"]
    },
    {
      # Without ListBucket a missing pointer is 403, not 404 ("no model published yet" must be told apart).
      sid       = "DistinguishMissingModels"
      actions   = ["s3:ListBucket"]
      resources = [module.model_bucket.arn]
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

module "fraud_audit" {
  source = "../modules/lambda_function"

  name          = local.stream.audit_function
  service_name  = "fraud-audit"
  environment   = var.environment
  description   = "Pipeline stream: writes an audit record to S3 for every alert the alerts table's stream shows"
  handler       = "fraud_audit.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/fraud_audit"].path}"
  package_hash  = local.artifacts["functions/fraud_audit"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = 256
  timeout       = 30
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    AUDIT_BUCKET   = module.fraud_audit_bucket.name
    AUDIT_PREFIX   = local.stream.audit_prefix
    FAILURES_TABLE = module.failures_table.name
  }

  stream_event_sources = {
    alerts = {
      event_source_arn                   = module.fraud_alerts_table.stream_arn
      starting_position                  = "TRIM_HORIZON"
      batch_size                         = 100
      maximum_batching_window_in_seconds = var.fraud_audit_batching_window_seconds
      bisect_batch_on_function_error     = true
      maximum_retry_attempts             = 3
      on_failure_destination_arn         = module.fraud_audit_failures.arn
      # Alerts written or rewritten; TTL expiry (REMOVE) is not an alert.
      filter_patterns = [{ eventName = ["INSERT", "MODIFY"] }]
    }
  }

  policy_statements = [
    {
      sid       = "WriteAuditRecords"
      actions   = ["s3:PutObject"]
      resources = ["${module.fraud_audit_bucket.arn}/${local.stream.audit_prefix}*"]
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

locals {
  stream_pipelines = {
    stream = {
      description = "Transactions on a Kinesis stream scored in order per user (rule + ONNX model, per-user features in DynamoDB); FraudSuspected alerts -> SNS and the alerts table, whose stream feeds the audit bucket"
      trigger = {
        type        = "kinesis"
        stream_name = module.transactions_stream.name
        stream_arn  = module.transactions_stream.arn
        shard_count = module.transactions_stream.shard_count
      }
      functions = {
        fraud_scorer = { name = module.fraud_scorer.function_name, arn = module.fraud_scorer.function_arn, log_group = module.fraud_scorer.log_group_name }
        fraud_audit  = { name = module.fraud_audit.function_name, arn = module.fraud_audit.function_arn, log_group = module.fraud_audit.log_group_name }
      }
      mappings = merge(module.fraud_scorer.event_source_mapping_uuids, module.fraud_audit.event_source_mapping_uuids)
      tables   = { features = module.fraud_features_table.name, alerts = module.fraud_alerts_table.name }
      on_failure = {
        scorer_queue_url = module.fraud_scorer_failures.url
        audit_queue_url  = module.fraud_audit_failures.url
      }
      alerts = {
        event_bus_name = aws_cloudwatch_event_bus.domain.name
        source         = local.stream.source
        detail_type    = local.stream.detail_type
        rule_name      = local.stream.suspected_rule
        topic_arn      = module.fraud_alerts_topic.arn
      }
      model  = { bucket = module.model_bucket.name, name = var.fraud_model_name }
      output = { bucket = module.fraud_audit_bucket.name, prefix = local.stream.audit_prefix }
    }
  }
}
