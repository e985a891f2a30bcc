data "aws_partition" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.name}"
  service_name   = coalesce(var.service_name, var.name)

  # The runtime contract (docs/architecture.md): every function gets these; function-specific ones are merged in.
  standard_environment = {
    SLUICE_ENV                   = var.environment
    POWERTOOLS_SERVICE_NAME      = local.service_name
    POWERTOOLS_METRICS_NAMESPACE = "Sluice"
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  event_source_queue_arns = sort(distinct([for s in values(var.sqs_event_sources) : s.queue_arn]))
  event_source_key_arns   = sort(distinct([for s in values(var.sqs_event_sources) : coalesce(s.kms_key_arn, var.kms_key_arn)]))

  # Stream event sources: Kinesis streams and DynamoDB streams, told apart by their ARN.
  kinesis_source_arns  = sort(distinct([for s in values(var.stream_event_sources) : s.event_source_arn if strcontains(s.event_source_arn, ":kinesis:")]))
  dynamodb_stream_arns = sort(distinct([for s in values(var.stream_event_sources) : s.event_source_arn if strcontains(s.event_source_arn, ":dynamodb:")]))
  # Kinesis streams are encrypted with a key the poller decrypts with (through Kinesis); DynamoDB streams are
  # decrypted by DynamoDB itself.
  kinesis_key_arns = sort(distinct([for s in values(var.stream_event_sources) : coalesce(s.kms_key_arn, var.kms_key_arn) if strcontains(s.event_source_arn, ":kinesis:")]))
  # On-failure destinations (SQS queues or SNS topics): Lambda sends the invocation records with the function's role.
  on_failure_queue_arns = sort(distinct([for s in values(var.stream_event_sources) : s.on_failure_destination_arn if s.on_failure_destination_arn != null && strcontains(coalesce(s.on_failure_destination_arn, "-"), ":sqs:")]))
  on_failure_topic_arns = sort(distinct([for s in values(var.stream_event_sources) : s.on_failure_destination_arn if s.on_failure_destination_arn != null && strcontains(coalesce(s.on_failure_destination_arn, "-"), ":sns:")]))
  on_failure_key_arns   = sort(distinct([for s in values(var.stream_event_sources) : coalesce(s.on_failure_kms_key_arn, var.kms_key_arn) if s.on_failure_destination_arn != null]))

  builtin_statements = concat(
    [
      {
        # The log group is created by this module (with retention and KMS), so no logs:CreateLogGroup.
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
      },
      {
        # X-Ray's PutTraceSegments/PutTelemetryRecords do not support resource-level permissions: AWS requires "*".
        Sid      = "XRayTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = ["*"]
      },
    ],
    # (A for-expression with a filter, not `cond ? [] : [...]`: the two statements have different shapes.)
    [for s in [
      {
        # What the Lambda SQS poller needs, on exactly the queues that trigger this function.
        Sid      = "ConsumeEventSourceQueues"
        Effect   = "Allow"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
        Resource = local.event_source_queue_arns
      },
      {
        Sid       = "DecryptEventSourceMessages"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = local.event_source_key_arns
        Condition = { StringLike = { "kms:ViaService" = "sqs.*.${data.aws_partition.current.dns_suffix}" } }
      },
    ] : s if length(local.event_source_queue_arns) > 0],
    [for s in [
      {
        # What the Lambda Kinesis poller needs (AWS's documented list), on exactly the streams that trigger this function.
        Sid      = "ReadEventSourceStreams"
        Effect   = "Allow"
        Action   = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:SubscribeToShard"]
        Resource = local.kinesis_source_arns
      },
      {
        Sid       = "DecryptEventSourceStreams"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = local.kinesis_key_arns
        Condition = { StringLike = { "kms:ViaService" = "kinesis.*.${data.aws_partition.current.dns_suffix}" } }
      },
    ] : s if length(local.kinesis_source_arns) > 0],
    [for s in [
      {
        # What the Lambda DynamoDB Streams poller needs, on exactly the table streams that trigger this function.
        Sid      = "ReadEventSourceTableStreams"
        Effect   = "Allow"
        Action   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
        Resource = local.dynamodb_stream_arns
      },
    ] : s if length(local.dynamodb_stream_arns) > 0],
    [for s in [
      {
        Sid      = "SendOnFailureRecordsToQueues"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = local.on_failure_queue_arns
      },
    ] : s if length(local.on_failure_queue_arns) > 0],
    [for s in [
      {
        Sid      = "SendOnFailureRecordsToTopics"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = local.on_failure_topic_arns
      },
    ] : s if length(local.on_failure_topic_arns) > 0],
    [for s in [
      {
        # Encrypted destinations: SQS/SNS ask KMS for a data key with the sender's permissions.
        Sid      = "EncryptOnFailureRecords"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = local.on_failure_key_arns
      },
    ] : s if length(local.on_failure_key_arns) > 0],
    [for arn in compact([var.dead_letter_target_arn]) : {
      # Lambda sends events that asynchronous invocations failed to process with the function's own role.
      Sid      = "SendToDeadLetterTarget"
      Effect   = "Allow"
      Action   = [startswith(arn, "arn:${data.aws_partition.current.partition}:sns:") ? "sns:Publish" : "sqs:SendMessage"]
      Resource = [arn]
    }],
  )

  custom_statements = [
    for s in var.policy_statements : merge(
      {
        Sid      = s.sid
        Effect   = "Allow"
        Action   = s.actions
        Resource = s.resources
      },
      # Condition only when there is one: IAM rejects "Condition": null.
      { for k, v in { Condition = {
        for test in distinct([for c in s.conditions : c.test]) :
        test => { for c in s.conditions : c.variable => c.values if c.test == test }
      } } : k => v if length(s.conditions) > 0 },
    )
  ]

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat(local.builtin_statements, local.custom_statements)
  })

  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
}

resource "aws_iam_role" "this" {
  name        = var.name
  description = "Execution role of the ${var.name} Lambda function"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = "sts:AssumeRole"
      },
    ]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = local.policy
}

# Created explicitly (not by the first invocation) so it has a retention and is encrypted with our key.
resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment decision (var.log_retention_days: 1 day locally, 365 in prod).
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:No private resource to reach: every dependency is an AWS API. A VPC would add NAT cost and ENI cold starts for nothing.
  #checkov:skip=CKV_AWS_272:Artifacts are deterministic and pinned by sha256 from the build manifest (source_code_hash); AWS Signer is a per-organisation choice (code_signing_config_arn).
  #checkov:skip=CKV_AWS_116:Functions fed by event source mappings keep failed records on the source's DLQ (SQS redrive, on-failure destinations); asynchronously invoked functions set dead_letter_target_arn.
  function_name                  = var.name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  handler                        = var.handler
  runtime                        = var.runtime
  architectures                  = var.architectures
  filename                       = var.package_path
  source_code_hash               = var.package_hash
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  layers                         = var.layers
  reserved_concurrent_executions = coalesce(var.reserved_concurrent_executions, -1)
  # Environment variables encrypted at rest with the environment key, not the AWS-managed one.
  kms_key_arn             = var.kms_key_arn
  code_signing_config_arn = var.code_signing_config_arn

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_target_arn == null ? [] : [var.dead_letter_target_arn]
    content {
      target_arn = dead_letter_config.value
    }
  }

  environment {
    variables = merge(var.environment_variables, local.standard_environment)
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  # The role's permissions and the log group must exist before the first invocation can log or poll.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]

  # The hash is the code's identity: a zip at another path with the same hash is not a change.
  lifecycle {
    ignore_changes = [filename]
  }
}

resource "aws_lambda_event_source_mapping" "sqs" {
  for_each = var.sqs_event_sources

  event_source_arn                   = each.value.queue_arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.maximum_batching_window_in_seconds
  function_response_types            = each.value.function_response_types
  enabled                            = each.value.enabled

  dynamic "scaling_config" {
    for_each = each.value.maximum_concurrency == null ? [] : [each.value.maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  tags = var.tags
}

# Kinesis and DynamoDB Streams: one poller per shard, records in order; a failed batch is bisected (optional),
# retried up to maximum_retry_attempts while younger than maximum_record_age_in_seconds, then described by an
# invocation record sent to the on-failure destination and skipped.
resource "aws_lambda_event_source_mapping" "stream" {
  for_each = var.stream_event_sources

  event_source_arn                   = each.value.event_source_arn
  function_name                      = aws_lambda_function.this.arn
  starting_position                  = each.value.starting_position
  starting_position_timestamp        = each.value.starting_position_timestamp
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.maximum_batching_window_in_seconds
  bisect_batch_on_function_error     = each.value.bisect_batch_on_function_error
  maximum_retry_attempts             = each.value.maximum_retry_attempts
  maximum_record_age_in_seconds      = each.value.maximum_record_age_in_seconds
  parallelization_factor             = each.value.parallelization_factor
  function_response_types            = each.value.function_response_types
  enabled                            = each.value.enabled

  dynamic "destination_config" {
    for_each = each.value.on_failure_destination_arn == null ? [] : [each.value.on_failure_destination_arn]
    content {
      on_failure {
        destination_arn = destination_config.value
      }
    }
  }

  dynamic "filter_criteria" {
    for_each = length(each.value.filter_patterns) == 0 ? [] : [each.value.filter_patterns]
    content {
      dynamic "filter" {
        for_each = filter_criteria.value
        content {
          pattern = jsonencode(filter.value)
        }
      }
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.name}-errors"
  alarm_description   = "Invocations of ${var.name} failed (Errors > ${var.errors_alarm_threshold} per ${var.alarm_period_seconds} s)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.errors_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  alarm_name          = "${var.name}-throttles"
  alarm_description   = "Invocations of ${var.name} were throttled (Throttles > ${var.throttles_alarm_threshold} per ${var.alarm_period_seconds} s)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.throttles_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
