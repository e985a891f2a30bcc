data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Built from the name: the role's trust policy names the machine, and the machine needs the role first.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.name}"
  log_group_name    = "/aws/vendedlogs/states/${var.name}"

  # The definition lives in its own file; the Lambdas it calls are passed to it as `lambdas` (name => ARN).
  definition = templatefile(var.definition_file, merge(var.definition_variables, { lambdas = var.lambda_functions }))

  lambda_arns = sort(distinct(values(var.lambda_functions)))

  started_arns = sort(distinct(concat(var.start_execution_arns, var.sync_execution_arns)))
  # arn:<partition>:states:<region>:<account>:stateMachine:<name> -> its executions, Standard and Express.
  nested_execution_arns = sort(flatten([
    for arn in var.sync_execution_arns : [
      "${replace(arn, ":stateMachine:", ":execution:")}:*",
      "${replace(arn, ":stateMachine:", ":express:")}:*",
    ]
  ]))

  # IAM derived from what the machine calls: its Lambdas and the declared service integrations, nothing else.
  statements = concat(
    [for s in [
      {
        # Versions and aliases too (lambda:invoke with a qualified ARN).
        Sid      = "InvokeLambdas"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = concat(local.lambda_arns, [for arn in local.lambda_arns : "${arn}:*"])
      },
    ] : s if length(local.lambda_arns) > 0],
    [for s in [
      {
        Sid      = "PublishToTopics"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = sort(var.publish_topic_arns)
      },
    ] : s if length(var.publish_topic_arns) > 0],
    [for s in [
      {
        # arn:aws:states:::states:startExecution (fire and forget) and the nested workflows run with .sync/.sync:2.
        Sid      = "StartExecutions"
        Effect   = "Allow"
        Action   = ["states:StartExecution"]
        Resource = local.started_arns
      },
    ] : s if length(local.started_arns) > 0],
    [for s in [
      {
        # .sync / .sync:2: Step Functions follows the nested execution and stops it when this task is stopped (AWS's
        # policy for "Start a new AWS Step Functions state machine execution"), on that machine's executions only.
        # A Standard machine's executions are execution:<name>:<id>, an Express machine's express:<name>:<id>:<id>.
        Sid      = "FollowNestedExecutions"
        Effect   = "Allow"
        Action   = ["states:DescribeExecution", "states:StopExecution"]
        Resource = local.nested_execution_arns
      },
      {
        # The managed rule through which Step Functions learns that a nested execution ended (AWS requires it for
        # .sync); the rule's name is fixed by AWS.
        Sid      = "NestedExecutionEventsRule"
        Effect   = "Allow"
        Action   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
        Resource = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"]
      },
    ] : s if length(var.sync_execution_arns) > 0],
    [
      {
        # Encrypted topics and the machine's own state (encryption_configuration), through those services only.
        Sid      = "UseKeys"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = sort(distinct(concat([var.kms_key_arn], var.integration_kms_key_arns)))
        Condition = {
          StringLike = {
            "kms:ViaService" = ["states.*.${data.aws_partition.current.dns_suffix}", "sns.*.${data.aws_partition.current.dns_suffix}"]
          }
        }
      },
      {
        # Log delivery to CloudWatch Logs is configured through these vended-log APIs, which AWS documents with
        # Resource "*" only (no resource-level permissions).
        Sid    = "DeliverLogs"
        Effect = "Allow"
        Action = [
          "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
        ]
        Resource = ["*"]
      },
      {
        # X-Ray's trace and sampling APIs do not support resource-level permissions: AWS requires "*".
        Sid      = "XRayTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
        Resource = ["*"]
      },
    ],
  )

  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
}

resource "aws_iam_role" "this" {
  name = "${var.name}-sfn"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      # Confused-deputy guard: only this machine of this account assumes the role.
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = local.state_machine_arn }
      }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.statements })
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment decision (var.log_retention_days: 1 day locally, 365 in prod).
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_285:Logging is on (level ALL by default, OFF refused); execution data (document text, summaries) stays out of the logs unless log_execution_data opts in. The full history stays in Step Functions, encrypted with the customer-managed key.
  name       = var.name
  type       = var.type
  role_arn   = aws_iam_role.this.arn
  definition = local.definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = var.log_execution_data
    level                  = var.log_level
  }

  tracing_configuration {
    enabled = var.tracing_enabled
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = var.kms_key_arn
    kms_data_key_reuse_period_seconds = 300
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = can(jsondecode(local.definition).StartAt) && can(keys(jsondecode(local.definition).States))
      error_message = "the rendered definition of ${var.name} (${var.definition_file}) is not an ASL document (JSON with StartAt and States)."
    }
  }

  depends_on = [aws_iam_role_policy.this]
}

resource "aws_cloudwatch_metric_alarm" "failed" {
  alarm_name          = "${var.name}-executions-failed"
  alarm_description   = "Executions of ${var.name} failed (ExecutionsFailed > ${var.failed_alarm_threshold} per ${var.alarm_period_seconds} s)."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this.arn }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.failed_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# EventBridge rules that start this machine (StartExecution targets) assume this role.
resource "aws_iam_role" "start" {
  count = length(var.eventbridge_rule_arns) > 0 ? 1 : 0

  name = "${var.name}-start"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = sort(var.eventbridge_rule_arns) }
      }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "start" {
  count = length(var.eventbridge_rule_arns) > 0 ? 1 : 0

  name = "start-execution"
  role = aws_iam_role.start[0].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Sid = "StartThisMachine", Effect = "Allow", Action = ["states:StartExecution"], Resource = [local.state_machine_arn] }]
  })
}
