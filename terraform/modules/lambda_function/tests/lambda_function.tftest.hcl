mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/sluice-test-worker" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:sluice-test-worker" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/sluice-test-worker" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
}

variables {
  name         = "sluice-test-worker"
  service_name = "worker"
  environment  = "test"
  handler      = "worker.handler.handler"
  package_path = "/dist/functions/worker.zip"
  package_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  environment_variables = {
    RESULTS_TABLE = "sluice-test-results"
  }
  alarm_topic_arn = "arn:aws:sns:us-east-1:123456789012:sluice-test-alarms"
  policy_statements = [
    {
      sid       = "ReadIncoming"
      actions   = ["s3:GetObject"]
      resources = ["arn:aws:s3:::bucket/incoming/*"]
    },
    {
      sid       = "PutWithCondition"
      actions   = ["dynamodb:PutItem"]
      resources = ["arn:aws:dynamodb:us-east-1:123456789012:table/t"]
      conditions = [
        { test = "ForAllValues:StringEquals", variable = "dynamodb:LeadingKeys", values = ["a"] },
        { test = "StringEquals", variable = "aws:RequestedRegion", values = ["us-east-1"] },
      ]
    },
  ]
  sqs_event_sources = {
    work = { queue_arn = "arn:aws:sqs:us-east-1:123456789012:sluice-test-work" }
  }
}

run "function_settings" {
  command = plan

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      SLUICE_ENV                   = "test"
      POWERTOOLS_SERVICE_NAME      = "worker"
      POWERTOOLS_METRICS_NAMESPACE = "Sluice"
      POWERTOOLS_LOG_LEVEL         = "INFO"
      RESULTS_TABLE                = "sluice-test-results"
    })
    error_message = "standard environment merged with the function's own"
  }

  assert {
    condition     = aws_lambda_function.this.source_code_hash == var.package_hash && aws_lambda_function.this.filename == var.package_path
    error_message = "code from the built zip, redeployed by hash"
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "active tracing"
  }

  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == -1
    error_message = "unreserved concurrency by default"
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.this.name == "/aws/lambda/sluice-test-worker"
      && aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn
      && aws_cloudwatch_log_group.this.retention_in_days == 30
    )
    error_message = "explicit, encrypted log group with retention"
  }
}

run "event_source_mapping" {
  command = plan

  assert {
    condition = (
      aws_lambda_event_source_mapping.sqs["work"].event_source_arn == "arn:aws:sqs:us-east-1:123456789012:sluice-test-work"
      && aws_lambda_event_source_mapping.sqs["work"].batch_size == 10
      && aws_lambda_event_source_mapping.sqs["work"].maximum_batching_window_in_seconds == 0
      && aws_lambda_event_source_mapping.sqs["work"].function_response_types == toset(["ReportBatchItemFailures"])
      && length(aws_lambda_event_source_mapping.sqs["work"].scaling_config) == 0
    )
    error_message = "SQS source with partial batch responses and AWS defaults"
  }
}

run "least_privilege_policy" {
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : alltrue([for a in s.Action : a != "*" && !endswith(a, ":*")])
    ])
    error_message = "no wildcard actions"
  }

  assert {
    condition = toset([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid if contains(s.Resource, "*")
    ]) == toset(["XRayTraces"])
    error_message = "\"*\" resources only for X-Ray"
  }

  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "ConsumeEventSourceQueues"
    ]) == ["arn:aws:sqs:us-east-1:123456789012:sluice-test-work"]
    error_message = "SQS consumption only on the event source queues"
  }

  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "DecryptEventSourceMessages"
    ]) == [var.kms_key_arn]
    error_message = "kms:Decrypt on the queue key"
  }

  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "WriteLogs"
    ]) == ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/sluice-test-worker:*"]
    error_message = "logs only to its own log group"
  }

  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition if s.Sid == "PutWithCondition"
      ]) == {
      "ForAllValues:StringEquals" = { "dynamodb:LeadingKeys" = ["a"] }
      StringEquals                = { "aws:RequestedRegion" = ["us-east-1"] }
    }
    error_message = "conditions grouped by test"
  }

  assert {
    condition     = !contains(keys(one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "ReadIncoming"])), "Condition")
    error_message = "no Condition key when a statement has none"
  }
}

run "alarms" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.errors.metric_name == "Errors"
      && aws_cloudwatch_metric_alarm.throttles.metric_name == "Throttles"
      && aws_cloudwatch_metric_alarm.errors.alarm_actions == toset([var.alarm_topic_arn])
    )
    error_message = "Errors and Throttles alarms notify the topic"
  }
}

run "no_event_sources" {
  variables {
    sqs_event_sources = {}
  }

  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if startswith(s.Sid, "ConsumeEventSource")]) == 0
    error_message = "no SQS permissions without SQS sources"
  }
}

run "rejects_wildcard_action" {
  command = plan

  variables {
    policy_statements = [{ sid = "Bad", actions = ["s3:*"], resources = ["arn:aws:s3:::b/*"] }]
  }

  expect_failures = [var.policy_statements]
}

run "rejects_unexplained_wildcard_resource" {
  command = plan

  variables {
    policy_statements = [{ sid = "Bad", actions = ["s3:ListAllMyBuckets"], resources = ["*"] }]
  }

  expect_failures = [var.policy_statements]
}

run "rejects_overriding_standard_env" {
  command = plan

  variables {
    environment_variables = { SLUICE_ENV = "prod" }
  }

  expect_failures = [var.environment_variables]
}

run "rejects_large_batch_without_window" {
  command = plan

  variables {
    sqs_event_sources = { work = { queue_arn = "arn:aws:sqs:us-east-1:123456789012:q", batch_size = 100 } }
  }

  expect_failures = [var.sqs_event_sources]
}

run "kinesis_event_source" {
  command = plan

  variables {
    stream_event_sources = {
      transactions = {
        event_source_arn                   = "arn:aws:kinesis:us-east-1:123456789012:stream/sluice-test-transactions"
        starting_position                  = "TRIM_HORIZON"
        batch_size                         = 100
        maximum_batching_window_in_seconds = 1
        maximum_retry_attempts             = 2
        maximum_record_age_in_seconds      = 3600
        on_failure_destination_arn         = "arn:aws:sqs:us-east-1:123456789012:sluice-test-scorer-failures"
      }
    }
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream["transactions"].starting_position == "TRIM_HORIZON"
      && aws_lambda_event_source_mapping.stream["transactions"].batch_size == 100
      && aws_lambda_event_source_mapping.stream["transactions"].maximum_batching_window_in_seconds == 1
      && aws_lambda_event_source_mapping.stream["transactions"].bisect_batch_on_function_error == true
      && aws_lambda_event_source_mapping.stream["transactions"].maximum_retry_attempts == 2
      && aws_lambda_event_source_mapping.stream["transactions"].maximum_record_age_in_seconds == 3600
    )
    error_message = "the mapping carries the stream options (bisect on by default)"
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream["transactions"].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "partial batch responses by default"
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream["transactions"].destination_config[0].on_failure[0].destination_arn == "arn:aws:sqs:us-east-1:123456789012:sluice-test-scorer-failures"
    error_message = "on-failure records go to the queue"
  }

  assert {
    condition = anytrue([
      for s in jsondecode(output.policy).Statement :
      s.Sid == "ReadEventSourceStreams" && s.Resource == ["arn:aws:kinesis:us-east-1:123456789012:stream/sluice-test-transactions"] && contains(s.Action, "kinesis:GetRecords")
    ])
    error_message = "read permissions on exactly the stream"
  }

  assert {
    condition = anytrue([
      for s in jsondecode(output.policy).Statement :
      s.Sid == "DecryptEventSourceStreams" && s.Resource == [var.kms_key_arn] && try(s.Condition.StringLike["kms:ViaService"], "") == "kinesis.*.amazonaws.com"
    ])
    error_message = "kms:Decrypt on the stream key through Kinesis only"
  }

  assert {
    condition = anytrue([
      for s in jsondecode(output.policy).Statement :
      s.Sid == "SendOnFailureRecordsToQueues" && s.Action == ["sqs:SendMessage"] && s.Resource == ["arn:aws:sqs:us-east-1:123456789012:sluice-test-scorer-failures"]
    ])
    error_message = "the role may send to the on-failure queue"
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.sqs) == 1
    error_message = "the SQS source is still there"
  }
}

run "dynamodb_stream_event_source" {
  command = plan

  variables {
    sqs_event_sources = {}
    stream_event_sources = {
      alerts = {
        event_source_arn  = "arn:aws:dynamodb:us-east-1:123456789012:table/sluice-test-alerts/stream/2026-01-01T00:00:00.000"
        starting_position = "TRIM_HORIZON"
        filter_patterns   = [{ eventName = ["INSERT"] }]
      }
    }
  }

  assert {
    condition     = jsondecode(one(one(aws_lambda_event_source_mapping.stream["alerts"].filter_criteria).filter).pattern) == { eventName = ["INSERT"] }
    error_message = "filter patterns become filters"
  }

  assert {
    condition = anytrue([
      for s in jsondecode(output.policy).Statement :
      s.Sid == "ReadEventSourceTableStreams" && contains(s.Action, "dynamodb:GetRecords")
    ])
    error_message = "read permissions on the table stream"
  }

  assert {
    condition     = !anytrue([for s in jsondecode(output.policy).Statement : s.Sid == "ReadEventSourceStreams" || s.Sid == "ConsumeEventSourceQueues"])
    error_message = "no Kinesis or SQS permissions without such sources"
  }
}

run "rejects_a_non_stream_source" {
  command = plan

  variables {
    stream_event_sources = {
      bad = { event_source_arn = "arn:aws:sqs:us-east-1:123456789012:q" }
    }
  }

  expect_failures = [var.stream_event_sources]
}

run "rejects_at_timestamp_without_a_timestamp" {
  command = plan

  variables {
    stream_event_sources = {
      s = { event_source_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s", starting_position = "AT_TIMESTAMP" }
    }
  }

  expect_failures = [var.stream_event_sources]
}
