# The environment's guarantees, checked against a mocked AWS provider (no credentials, no network): every queue
# has a dead-letter redrive (maxReceiveCount 3) and KMS, every bucket SSE-KMS and a full public access block,
# every table SSE with the environment key, every dead-letter queue an alarm, every alarm on the dashboard, every
# bus an archive. The stack's `queues`, `buckets`
# and `tables` outputs list every one of them, with the attributes as applied.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333", arn = "arn:aws:iam::111122223333:user/ci", user_id = "AIDACI" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com", reverse_dns_prefix = "com.amazonaws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1", endpoint = "ec2.eu-west-1.amazonaws.com", description = "Europe (Ireland)" }
  }

  # ARN-shaped values where the provider validates arguments that take another resource's ARN.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555", key_id = "11111111-2222-3333-4444-555555555555" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:111122223333:sluice-alarms" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:111122223333:sluice-queue", url = "https://sqs.eu-west-1.amazonaws.com/111122223333/sluice-queue" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::sluice-bucket" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn        = "arn:aws:dynamodb:eu-west-1:111122223333:table/sluice-table"
      stream_arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/sluice-table/stream/2026-01-01T00:00:00.000"
    }
  }
  mock_resource "aws_kinesis_stream" {
    defaults = { arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/sluice-stream" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/sluice-role" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/sluice" }
  }
  mock_resource "aws_lambda_layer_version" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:111122223333:layer:sluice-shared:1", layer_arn = "arn:aws:lambda:eu-west-1:111122223333:layer:sluice-shared" }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:111122223333:function:sluice-function"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:sluice-function/invocations"
    }
  }
  mock_resource "aws_cloudwatch_event_bus" {
    defaults = { arn = "arn:aws:events:eu-west-1:111122223333:event-bus/sluice-domain" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:eu-west-1:111122223333:stateMachine:sluice-machine" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:eu-west-1:111122223333:rule/sluice-rule" }
  }
  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      id            = "a1b2c3d4e5"
      execution_arn = "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5"
      api_endpoint  = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
    }
  }
  mock_resource "aws_apigatewayv2_stage" {
    defaults = { invoke_url = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/" }
  }
}

# The stack's own account lookup, pinned explicitly (the nested modules use the mock_data defaults above).
override_data {
  target = module.stack.data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

variables {
  region        = "eu-west-1"
  artifacts_dir = "../../tests/fixtures/dist/aws"
}

run "guarantees" {
  # One apply for all the guarantees (each run re-plans the whole stack).

  # --- every queue: a DLQ redrive with maxReceiveCount 3, KMS encryption
  assert {
    condition     = length(output.inference_api_route_authorization) >= 2 && alltrue([for t in values(output.inference_api_route_authorization) : t == "CUSTOM"])
    error_message = "every route of the inference HTTP API goes through the API-key authorizer"
  }

  assert {
    condition     = length(output.queues) > 0
    error_message = "the stack has queues"
  }

  assert {
    condition     = alltrue([for q in output.queues : jsondecode(q.redrive_policy).maxReceiveCount == 3])
    error_message = "every queue dead-letters after 3 receives"
  }

  assert {
    condition     = alltrue([for q in output.queues : jsondecode(q.redrive_policy).deadLetterTargetArn == q.dlq_arn])
    error_message = "every queue's redrive policy targets its own DLQ"
  }

  assert {
    condition     = alltrue([for q in output.queues : q.dlq_name == "${q.name}-dlq"])
    error_message = "every DLQ is <queue>-dlq"
  }

  assert {
    condition     = alltrue(flatten([for q in output.queues : [for k in values(q.kms_master_key_ids) : k == output.kms_key_arn]]))
    error_message = "every queue and DLQ is encrypted with the environment key"
  }

  # --- every DLQ: alarms on visible messages and on age, to the alarm topic
  assert {
    condition = alltrue([
      for q in output.queues : anytrue([
        for a in values(q.dlq_alarms) :
        a.metric_name == "ApproximateNumberOfMessagesVisible" && a.queue_name == q.dlq_name && a.threshold == 0
      ])
    ])
    error_message = "every DLQ alarms as soon as a message is in it"
  }

  assert {
    condition = alltrue([
      for q in output.queues : anytrue([
        for a in values(q.dlq_alarms) : a.metric_name == "ApproximateAgeOfOldestMessage" && a.queue_name == q.dlq_name
      ])
    ])
    error_message = "every DLQ alarms on the age of its oldest message"
  }

  assert {
    condition     = alltrue(flatten([for q in output.queues : [for a in values(q.dlq_alarms) : contains(a.alarm_actions, output.alarm_topic_arn)]]))
    error_message = "every DLQ alarm notifies the alarm topic"
  }

  # --- every bucket: SSE-KMS with a bucket key, public access blocked, TLS only
  assert {
    condition     = length(output.buckets) >= 2
    error_message = "the stack has its landing and output buckets"
  }

  assert {
    condition = alltrue([
      for b in output.buckets :
      b.encryption.sse_algorithm == "aws:kms" && b.encryption.kms_master_key_id == output.kms_key_arn && b.encryption.bucket_key_enabled
    ])
    error_message = "every bucket has SSE-KMS with the environment key and a bucket key"
  }

  assert {
    condition     = alltrue([for b in output.buckets : alltrue(values(b.public_access_block))])
    error_message = "every bucket blocks all public access"
  }

  assert {
    condition = alltrue([
      for b in output.buckets : anytrue([
        for s in jsondecode(b.policy).Statement : s.Effect == "Deny" && s.Condition.Bool["aws:SecureTransport"] == "false"
      ])
    ])
    error_message = "every bucket refuses requests without TLS"
  }

  # --- every table: SSE with the environment key, point-in-time recovery
  assert {
    condition     = length(output.tables) >= 3
    error_message = "the stack has its idempotency, failures and results tables"
  }

  assert {
    condition     = alltrue([for t in output.tables : t.server_side_encryption.enabled && t.server_side_encryption.kms_key_arn == output.kms_key_arn])
    error_message = "every table is encrypted with the environment key"
  }

  assert {
    condition     = alltrue([for t in output.tables : t.point_in_time_recovery])
    error_message = "every table has point-in-time recovery"
  }

  # --- every alarm of the stack is on the environment's dashboard (and so is every DLQ alarm)
  assert {
    condition     = output.dashboard_name == "sluice-${output.environment}"
    error_message = "the environment has one dashboard, named after its prefix"
  }

  assert {
    condition = length(output.alarm_names) > 0 && alltrue([
      for name in output.alarm_names : contains(output.dashboard_alarm_arns, "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:${name}")
    ])
    error_message = "the dashboard's alarm status widget shows every alarm of the stack"
  }

  assert {
    condition     = alltrue(flatten([for q in output.queues : [for a in values(q.dlq_alarms) : contains(output.alarm_names, a.alarm_name)]]))
    error_message = "every DLQ alarm is among the stack's alarms (and so on the dashboard)"
  }

  assert {
    condition = alltrue(flatten([
      for fn in concat(values(output.function_names), values(output.documents_function_names), [output.documents_start_function_name, output.documents_ended_function_name, "sluice-${output.environment}-etl-step"]) :
      [contains(output.alarm_names, "${fn}-errors"), contains(output.alarm_names, "${fn}-throttles")]
    ]))
    error_message = "every function of every pipeline (documents steps, fraud scorer and audit, report, retraining, authorizer too) has its errors and throttles alarms among the stack's alarms"
  }

  assert {
    condition = alltrue([
      for name in ["documents", "documents-analysis", "etl"] : contains(output.alarm_names, "sluice-${output.environment}-${name}-executions-failed")
    ])
    error_message = "every state machine's failed-executions alarm is among the stack's alarms"
  }

  assert {
    condition = alltrue(concat(
      [for suffix in ["iterator-age", "write-throttled"] : contains(output.alarm_names, "sluice-${output.environment}-transactions-${suffix}")],
      [for k in ["fraud_scorer_failures", "fraud_audit_failures"] : contains(output.alarm_names, "${output.queues[k].name}-messages-visible")],
      [contains(output.alarm_names, "sluice-${output.environment}-inference-api-5xx")],
    ))
    error_message = "the stream's alarms, its on-failure queues' alarms and the HTTP API's alarm are among the stack's alarms"
  }

  assert {
    condition     = length(output.dashboard_alarm_arns) == length(distinct(output.alarm_names))
    error_message = "the dashboard shows each alarm once (split over several status widgets past 100) and nothing else"
  }

  # --- every bus has an archive (replays), kept 7 days in dev
  assert {
    condition     = toset(keys(output.event_archives)) == toset(["default", "domain"])
    error_message = "the default and the domain bus each have an archive"
  }

  assert {
    condition = (
      output.event_archives.domain.event_source_arn == output.domain_bus_arn
      && output.event_archives.default.event_source_arn == "arn:aws:events:eu-west-1:111122223333:event-bus/default"
    )
    error_message = "each archive records its own bus"
  }

  assert {
    condition     = alltrue([for a in output.event_archives : a.retention_days == 7 && startswith(a.name, "sluice-${output.environment}-")])
    error_message = "archives keep events 7 days in dev and are named after the environment"
  }
}

run "names_and_wiring" {
  command = plan

  assert {
    condition = (
      output.landing_bucket_name == "sluice-${output.environment}-111122223333-landing"
      && output.output_bucket_name == "sluice-${output.environment}-111122223333-output"
      && output.ingest_queue_name == "sluice-${output.environment}-ingest"
      && output.ingest_dlq_name == "sluice-${output.environment}-ingest-dlq"
      && output.ingest_function_name == "sluice-${output.environment}-ingest-processor"
      && output.ingest_rule_name == "sluice-${output.environment}-ingest-object-created"
      && output.kms_key_alias == "alias/sluice-${output.environment}"
    )
    error_message = "resource names follow docs/architecture.md"
  }

  assert {
    condition = jsondecode(output.ingest_event_pattern) == {
      source        = ["aws.s3"]
      "detail-type" = ["Object Created"]
      detail = {
        bucket = { name = [output.landing_bucket_name] }
        object = { key = [{ wildcard = "incoming/*.json" }] }
      }
    }
    error_message = "the ingest rule matches JSON objects created under incoming/ in the landing bucket"
  }

  assert {
    condition     = output.pipelines.ingest.queue.max_receive_count == 3 && output.pipelines.ingest.functions.ingest_processor.name == output.ingest_function_name
    error_message = "the pipelines output describes the ingest pipeline"
  }

  assert {
    condition = (
      output.inference_jobs_table_name == "sluice-${output.environment}-predictions"
      && output.inference_model_bucket_name == "sluice-${output.environment}-111122223333-models"
      && output.inference_worker_function_name == "sluice-${output.environment}-inference-worker"
      && toset(output.pipelines.inference.trigger.routes) == toset(["POST /predictions", "GET /predictions/{id}", "POST /feedback"])
    )
    error_message = "the inference pipeline: names, and the API's routes (POST /feedback: retraining)"
  }
}
