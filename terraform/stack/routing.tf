# Pipeline 2 (seed 001 pattern 2, seeds 002 and 003): fan-out routing with typed event contracts.
#
# Routing: producers submit raw records ("Record Submitted" on the domain bus, or JSON-lines files under records/
# in the landing bucket) -> router queue -> router -> typed "Record Routed" events on the domain bus, in PutEvents
# batches -> one rule per data_type (var.routing_routes: a route is data) -> one queue (+DLQ) per type -> one
# processor per type -> routed-records table. What cannot be routed -> "Record Unroutable" -> unroutable queue.
#
# S3 fan-out: an object created under uploads/ -> one rule, three targets -> one queue (+DLQ) and one consumer per
# var.fanout_consumers entry -> jobs table; the consumer that completes a job -> "Upload Processed" on the domain
# bus -> completions SNS topic -> completions queue (SQS subscription): clients learn a job finished from there.
#
# Every event pattern below is read from this file by the contract tests (tests/unit/test_routing_contracts.py)
# and checked, offline, against sample events that must and must not match.

locals {
  routing_names = {
    router_queue      = "${local.prefix}-router"
    unroutable_queue  = "${local.prefix}-unroutable"
    results_table     = "${local.prefix}-routed-records"
    router_function   = "${local.prefix}-record-router"
    submitted_rule    = "${local.prefix}-routing-records-submitted"
    files_rule        = "${local.prefix}-routing-record-files"
    unroutable_rule   = "${local.prefix}-routing-unroutable"
    jobs_table        = "${local.prefix}-fanout-jobs"
    uploads_rule      = "${local.prefix}-fanout-uploads"
    completed_rule    = "${local.prefix}-fanout-completed"
    completions_topic = "${local.prefix}-completions"
    completions_queue = "${local.prefix}-completions"
  }

  # Sources and detail-types of the domain events (the functions use the same strings).
  producer_detail_type   = "Record Submitted"
  router_source          = "sluice.router"
  routed_detail_type     = "Record Routed"
  unroutable_detail_type = "Record Unroutable"
  fanout_source          = "sluice.fanout"
  completed_detail_type  = "Upload Processed"

  records_prefix  = "records/"
  uploads_prefix  = "uploads/"
  previews_prefix = "previews/"

  # Rule ARNs built from names (as local.ingest_rule_arn): rules on a custom bus have the bus in their ARN.
  default_rule_arn_prefix = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule"
  domain_rule_arn_prefix  = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${aws_cloudwatch_event_bus.domain.name}"
  route_rule_names        = { for type in keys(var.routing_routes) : type => "${local.prefix}-route-${type}" }

  router_visibility_timeout = 6 * var.routing_router_timeout + var.routing_router_batching_window_seconds
  routed_types              = join(",", sort(keys(var.routing_routes)))
  fanout_consumer_names     = join(",", sort(keys(var.fanout_consumers)))

  # What other files of the stack pick up (outputs, the queues/tables maps in main.tf).
  routing_function_names = merge(
    { record_router = module.record_router.function_name },
    { for type, f in module.record_processor : "record_processor_${type}" => f.function_name },
    { for name, f in module.fanout_consumer : "fanout_consumer_${name}" => f.function_name },
  )
  routing_alarm_names = concat(
    module.router_queue.alarm_names,
    module.unroutable_queue.alarm_names,
    module.completions_queue.alarm_names,
    module.record_router.alarm_names,
    flatten([for q in values(module.route_queue) : q.alarm_names]),
    flatten([for f in values(module.record_processor) : f.alarm_names]),
    flatten([for q in values(module.fanout_queue) : q.alarm_names]),
    flatten([for f in values(module.fanout_consumer) : f.alarm_names]),
  )
  routing_queues = merge(
    { router = module.router_queue, unroutable = module.unroutable_queue, completions = module.completions_queue },
    { for type, q in module.route_queue : "route_${type}" => q },
    { for name, q in module.fanout_queue : "fanout_${name}" => q },
  )
  routing_tables = { routed_records = module.routed_records_table, fanout_jobs = module.fanout_jobs_table }
}

# --- routing: intake ----------------------------------------------------------------------------------------------

module "router_queue" {
  source = "../modules/queue"

  name                       = local.routing_names.router_queue
  kms_key_arn                = module.kms.key_arn
  visibility_timeout_seconds = local.router_visibility_timeout
  max_receive_count          = local.max_receive_count
  allowed_service_principals = [{
    service     = "events.amazonaws.com"
    source_arns = ["${local.domain_rule_arn_prefix}/${local.routing_names.submitted_rule}", "${local.default_rule_arn_prefix}/${local.routing_names.files_rule}"]
  }]
  dlq_allowed_service_principals = [{
    service     = "events.amazonaws.com"
    source_arns = ["${local.domain_rule_arn_prefix}/${local.routing_names.submitted_rule}", "${local.default_rule_arn_prefix}/${local.routing_names.files_rule}"]
  }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "routing_submitted_rule" {
  source = "../modules/event_rules"

  rules = {
    (local.routing_names.submitted_rule) = {
      event_bus_name = aws_cloudwatch_event_bus.domain.name
      description    = "Raw records submitted by producers (never by AWS services) -> router queue. No filter on content: what cannot be routed must still reach the router, which says why."
      event_pattern = {
        "detail-type" = [local.producer_detail_type]
        source        = [{ "anything-but" = { prefix = "aws." } }]
      }
      targets = {
        router-queue = { arn = module.router_queue.arn, dead_letter_arn = module.router_queue.dlq_arn }
      }
    }
  }
  tags = local.tags
}

module "routing_files_rule" {
  source = "../modules/event_rules"

  rules = {
    (local.routing_names.files_rule) = {
      description = "JSON-lines records files created under ${local.records_prefix} in the landing bucket -> router queue"
      event_pattern = {
        source        = ["aws.s3"]
        "detail-type" = ["Object Created"]
        detail = {
          bucket = { name = [module.landing_bucket.name] }
          object = { key = [{ wildcard = "${local.records_prefix}*.jsonl" }] }
        }
      }
      targets = {
        router-queue = { arn = module.router_queue.arn, dead_letter_arn = module.router_queue.dlq_arn }
      }
    }
  }
  tags = local.tags
}

module "record_router" {
  source = "../modules/lambda_function"

  name          = local.routing_names.router_function
  service_name  = "record-router"
  environment   = var.environment
  description   = "Pipeline routing: classifies raw records by data_type and publishes typed events in batches"
  handler       = "record_router.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/record_router"].path}"
  package_hash  = local.artifacts["functions/record_router"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = var.routing_router_memory
  timeout       = var.routing_router_timeout
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    DOMAIN_BUS_NAME    = aws_cloudwatch_event_bus.domain.name
    ROUTED_TYPES       = local.routed_types
    PUBLISH_BATCH_SIZE = tostring(var.routing_publish_batch_size)
    MAX_OBJECT_BYTES   = tostring(var.routing_max_records_file_bytes)
    FAILURES_TABLE     = module.failures_table.name
    DLQ_URL            = module.router_queue.dlq_url
    IDEMPOTENCY_TABLE  = module.idempotency_table.name
  }

  sqs_event_sources = {
    router = {
      queue_arn                          = module.router_queue.arn
      batch_size                         = var.routing_router_batch_size
      maximum_batching_window_in_seconds = var.routing_router_batching_window_seconds
      maximum_concurrency                = var.routing_router_maximum_concurrency
    }
  }

  policy_statements = [
    {
      sid       = "ReadRecordsFiles"
      actions   = ["s3:GetObject", "s3:GetObjectVersion"]
      resources = ["${module.landing_bucket.arn}/${local.records_prefix}*"]
    },
    {
      # Without ListBucket a missing key is 403 instead of 404, and a permanent failure would look transient.
      sid       = "DistinguishMissingRecordsFiles"
      actions   = ["s3:ListBucket"]
      resources = [module.landing_bucket.arn]
    },
    {
      sid       = "PublishTypedEvents"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.domain.arn]
    },
    {
      sid       = "RecordFailures"
      actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [module.failures_table.arn]
    },
    {
      sid       = "DeadLetterPermanentFailures"
      actions   = ["sqs:SendMessage"]
      resources = [module.router_queue.dlq_arn]
    },
    {
      # sluice.idempotency.Once: each "Record Unroutable" announcement is claimed, then marked, so a redelivered
      # message does not announce it again.
      sid       = "AnnounceUnroutableOnce"
      actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      resources = [module.idempotency_table.arn]
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

# --- routing: one rule, queue and processor per data type -----------------------------------------------------

module "route_queue" {
  source   = "../modules/queue"
  for_each = var.routing_routes

  name                            = "${local.prefix}-route-${each.key}"
  kms_key_arn                     = module.kms.key_arn
  visibility_timeout_seconds      = 6 * each.value.timeout
  max_receive_count               = local.max_receive_count
  allowed_service_principals      = [{ service = "events.amazonaws.com", source_arns = ["${local.domain_rule_arn_prefix}/${local.route_rule_names[each.key]}"] }]
  dlq_allowed_service_principals  = [{ service = "events.amazonaws.com", source_arns = ["${local.domain_rule_arn_prefix}/${local.route_rule_names[each.key]}"] }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "route_rules" {
  source   = "../modules/event_rules"
  for_each = var.routing_routes

  rules = {
    (local.route_rule_names[each.key]) = {
      event_bus_name = aws_cloudwatch_event_bus.domain.name
      description    = "Route ${each.key}: ${each.value.description}"
      event_pattern = {
        source        = [local.router_source]
        "detail-type" = [local.routed_detail_type]
        detail        = { data_type = [each.key] }
      }
      targets = {
        route-queue = { arn = module.route_queue[each.key].arn, dead_letter_arn = module.route_queue[each.key].dlq_arn }
      }
    }
  }
  tags = local.tags
}

module "routed_records_table" {
  source = "../modules/table"

  name                   = local.routing_names.results_table
  hash_key               = { name = "record_id" }
  kms_key_arn            = module.kms.key_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.table_deletion_protection
  tags                   = local.tags
}

module "record_processor" {
  source   = "../modules/lambda_function"
  for_each = var.routing_routes

  name          = "${local.prefix}-record-processor-${each.key}"
  service_name  = "record-processor-${each.key}"
  environment   = var.environment
  description   = "Pipeline routing, ${each.key} processor: ${each.value.description}"
  handler       = "record_processor.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/record_processor"].path}"
  package_hash  = local.artifacts["functions/record_processor"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = each.value.memory
  timeout       = each.value.timeout
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    DATA_TYPE      = each.key
    RESULTS_TABLE  = module.routed_records_table.name
    FAILURES_TABLE = module.failures_table.name
    DLQ_URL        = module.route_queue[each.key].dlq_url
  }

  sqs_event_sources = {
    route = {
      queue_arn           = module.route_queue[each.key].arn
      batch_size          = each.value.batch_size
      maximum_concurrency = each.value.maximum_concurrency
    }
  }

  policy_statements = [
    {
      sid       = "WriteResults"
      actions   = ["dynamodb:PutItem", "dynamodb:GetItem"]
      resources = [module.routed_records_table.arn]
    },
    {
      sid       = "RecordFailures"
      actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [module.failures_table.arn]
    },
    {
      sid       = "DeadLetterPermanentFailures"
      actions   = ["sqs:SendMessage"]
      resources = [module.route_queue[each.key].dlq_arn]
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

# --- routing: unroutable ------------------------------------------------------------------------------------------

module "unroutable_queue" {
  source = "../modules/queue"

  name = local.routing_names.unroutable_queue
  # Held for an operator to inspect and resubmit: as long as SQS keeps anything.
  message_retention_seconds       = 1209600
  kms_key_arn                     = module.kms.key_arn
  max_receive_count               = local.max_receive_count
  allowed_service_principals      = [{ service = "events.amazonaws.com", source_arns = ["${local.domain_rule_arn_prefix}/${local.routing_names.unroutable_rule}"] }]
  dlq_allowed_service_principals  = [{ service = "events.amazonaws.com", source_arns = ["${local.domain_rule_arn_prefix}/${local.routing_names.unroutable_rule}"] }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "routing_unroutable_rule" {
  source = "../modules/event_rules"

  rules = {
    (local.routing_names.unroutable_rule) = {
      event_bus_name = aws_cloudwatch_event_bus.domain.name
      description    = "Records the router could not route, and routed events of a data type no route takes -> unroutable queue"
      event_pattern = {
        source = [local.router_source]
        "$or" = [
          { "detail-type" = [local.unroutable_detail_type] },
          { "detail-type" = [local.routed_detail_type], detail = { data_type = [{ "anything-but" = sort(keys(var.routing_routes)) }] } },
        ]
      }
      targets = {
        unroutable-queue = { arn = module.unroutable_queue.arn, dead_letter_arn = module.unroutable_queue.dlq_arn }
      }
    }
  }
  tags = local.tags
}

# --- S3 fan-out: one upload, independent consumers ----------------------------------------------------------------

module "fanout_queue" {
  source   = "../modules/queue"
  for_each = var.fanout_consumers

  name                            = "${local.prefix}-fanout-${each.key}"
  kms_key_arn                     = module.kms.key_arn
  visibility_timeout_seconds      = 6 * each.value.timeout
  max_receive_count               = local.max_receive_count
  allowed_service_principals      = [{ service = "events.amazonaws.com", source_arns = ["${local.default_rule_arn_prefix}/${local.routing_names.uploads_rule}"] }]
  dlq_allowed_service_principals  = [{ service = "events.amazonaws.com", source_arns = ["${local.default_rule_arn_prefix}/${local.routing_names.uploads_rule}"] }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "fanout_uploads_rule" {
  source = "../modules/event_rules"

  rules = {
    (local.routing_names.uploads_rule) = {
      description = "Non-empty objects created under ${local.uploads_prefix} in the landing bucket -> every fan-out consumer's queue (empty objects, e.g. folder markers, are filtered out here)"
      event_pattern = {
        source        = ["aws.s3"]
        "detail-type" = ["Object Created"]
        detail = {
          bucket = { name = [module.landing_bucket.name] }
          object = {
            key  = [{ prefix = local.uploads_prefix }]
            size = [{ numeric = [">", 0] }]
          }
        }
      }
      targets = {
        for name in keys(var.fanout_consumers) : "consumer-${name}" => {
          arn             = module.fanout_queue[name].arn
          dead_letter_arn = module.fanout_queue[name].dlq_arn
        }
      }
    }
  }
  tags = local.tags
}

module "fanout_jobs_table" {
  source = "../modules/table"

  name                   = local.routing_names.jobs_table
  hash_key               = { name = "job_id" }
  kms_key_arn            = module.kms.key_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.table_deletion_protection
  tags                   = local.tags
}

module "fanout_consumer" {
  source   = "../modules/lambda_function"
  for_each = var.fanout_consumers

  name          = "${local.prefix}-fanout-consumer-${each.key}"
  service_name  = "fanout-consumer-${each.key}"
  environment   = var.environment
  description   = "Pipeline routing, S3 fan-out consumer ${each.key}: ${each.value.description}"
  handler       = "fanout_consumer.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/fanout_consumer"].path}"
  package_hash  = local.artifacts["functions/fanout_consumer"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = each.value.memory
  timeout       = each.value.timeout
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = merge(
    {
      CONSUMER           = each.key
      EXPECTED_CONSUMERS = local.fanout_consumer_names
      JOBS_TABLE         = module.fanout_jobs_table.name
      DOMAIN_BUS_NAME    = aws_cloudwatch_event_bus.domain.name
      IDEMPOTENCY_TABLE  = module.idempotency_table.name
      FAILURES_TABLE     = module.failures_table.name
      DLQ_URL            = module.fanout_queue[each.key].dlq_url
      MAX_OBJECT_BYTES   = tostring(var.fanout_max_object_bytes)
    },
    each.key == "preview" ? { OUTPUT_BUCKET = module.output_bucket.name } : {},
  )

  sqs_event_sources = {
    uploads = {
      queue_arn  = module.fanout_queue[each.key].arn
      batch_size = each.value.batch_size
    }
  }

  policy_statements = concat(
    [
      {
        sid       = "ReadUploads"
        actions   = ["s3:GetObject", "s3:GetObjectVersion"]
        resources = ["${module.landing_bucket.arn}/${local.uploads_prefix}*"]
      },
      {
        sid       = "DistinguishMissingUploads"
        actions   = ["s3:ListBucket"]
        resources = [module.landing_bucket.arn]
      },
      {
        sid       = "TrackJobs"
        actions   = ["dynamodb:UpdateItem"]
        resources = [module.fanout_jobs_table.arn]
      },
      {
        # Powertools idempotency around publishing the completion (a side effect no write can make conditional).
        sid       = "PublishCompletionOnce"
        actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        resources = [module.idempotency_table.arn]
      },
      {
        sid       = "PublishCompletions"
        actions   = ["events:PutEvents"]
        resources = [aws_cloudwatch_event_bus.domain.arn]
      },
      {
        sid       = "RecordFailures"
        actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
        resources = [module.failures_table.arn]
      },
      {
        sid       = "DeadLetterPermanentFailures"
        actions   = ["sqs:SendMessage"]
        resources = [module.fanout_queue[each.key].dlq_arn]
      },
      {
        sid       = "UseEnvironmentKey"
        actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
        resources = [module.kms.key_arn]
      },
    ],
    each.key != "preview" ? [] : [
      {
        # PutObject with If-None-Match, then HeadObject (s3:GetObject) to compare when the preview exists.
        sid       = "WritePreviews"
        actions   = ["s3:PutObject", "s3:GetObject"]
        resources = ["${module.output_bucket.arn}/${local.previews_prefix}*"]
      },
    ],
  )

  alarm_topic_arn           = module.alarm_topic.arn
  errors_alarm_threshold    = var.lambda_errors_alarm_threshold
  throttles_alarm_threshold = var.lambda_throttles_alarm_threshold
  alarm_evaluation_periods  = var.alarm_evaluation_periods
  tags                      = local.tags
}

# --- completion: bus -> SNS topic -> SQS subscription (the client's queue) ---------------------------------------

module "completions_topic" {
  source = "../modules/topic"

  name        = local.routing_names.completions_topic
  kms_key_arn = module.kms.key_arn
  publishers = [{
    service     = "events.amazonaws.com"
    source_arns = ["${local.domain_rule_arn_prefix}/${local.routing_names.completed_rule}"]
  }]
  tags = local.tags
}

module "completions_queue" {
  source = "../modules/queue"

  name                            = local.routing_names.completions_queue
  kms_key_arn                     = module.kms.key_arn
  max_receive_count               = local.max_receive_count
  allowed_service_principals      = [{ service = "sns.amazonaws.com", source_arns = [module.completions_topic.arn] }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

resource "aws_sns_topic_subscription" "completions" {
  topic_arn = module.completions_topic.arn
  protocol  = "sqs"
  endpoint  = module.completions_queue.arn
  # The client reads the EventBridge event itself, not an SNS envelope around it.
  raw_message_delivery = true
}

module "fanout_completed_rule" {
  source = "../modules/event_rules"

  rules = {
    (local.routing_names.completed_rule) = {
      event_bus_name = aws_cloudwatch_event_bus.domain.name
      description    = "Uploads every fan-out consumer has finished -> completions topic"
      event_pattern = {
        source        = [local.fanout_source]
        "detail-type" = [local.completed_detail_type]
      }
      targets = {
        completions-topic = { arn = module.completions_topic.arn }
      }
    }
  }
  tags = local.tags
}

locals {
  # Pipeline 2 in the stack's `pipelines` output (scripts discover resources from it).
  routing_pipelines = {
    routing = {
      description = "Raw records (Record Submitted events, records/*.jsonl files) classified by data_type into typed events; one rule, queue and processor per type; the rest to the unroutable queue with the reason"
      trigger = {
        type             = "eventbridge"
        event_bus_name   = aws_cloudwatch_event_bus.domain.name
        detail_type      = local.producer_detail_type
        bucket           = module.landing_bucket.name
        prefix           = local.records_prefix
        suffix           = ".jsonl"
        rule_names       = [local.routing_names.submitted_rule, local.routing_names.files_rule]
        router_queue_url = module.router_queue.url
      }
      routes = {
        for type in keys(var.routing_routes) : type => {
          rule_name = local.route_rule_names[type]
          queue_url = module.route_queue[type].url
          dlq_url   = module.route_queue[type].dlq_url
          function  = module.record_processor[type].function_name
        }
      }
      functions = merge(
        { record_router = { name = module.record_router.function_name, arn = module.record_router.function_arn, log_group = module.record_router.log_group_name } },
        { for type, f in module.record_processor : "record_processor_${type}" => { name = f.function_name, arn = f.function_arn, log_group = f.log_group_name } },
      )
      tables     = { results = module.routed_records_table.name, failures = module.failures_table.name }
      unroutable = { queue_url = module.unroutable_queue.url, rule_name = local.routing_names.unroutable_rule }
    }
    fanout = {
      description = "Objects created under uploads/ fanned out to independent consumers (own queue and DLQ each); the consumer completing a job publishes Upload Processed -> SNS -> the completions queue"
      trigger = {
        type           = "s3"
        bucket         = module.landing_bucket.name
        prefix         = local.uploads_prefix
        event_bus_name = "default"
        rule_name      = local.routing_names.uploads_rule
      }
      consumers = {
        for name in keys(var.fanout_consumers) : name => {
          queue_url = module.fanout_queue[name].url
          dlq_url   = module.fanout_queue[name].dlq_url
          dlq_arn   = module.fanout_queue[name].dlq_arn
          function  = module.fanout_consumer[name].function_name
        }
      }
      tables     = { jobs = module.fanout_jobs_table.name, idempotency = module.idempotency_table.name }
      completion = { topic_arn = module.completions_topic.arn, queue_url = module.completions_queue.url, rule_name = local.routing_names.completed_rule }
      output     = { bucket = module.output_bucket.name, prefix = local.previews_prefix }
    }
  }
}
