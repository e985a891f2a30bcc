data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  dlq_name   = "${var.name}-dlq"
  account_id = data.aws_caller_identity.current.account_id
  arn_prefix = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${local.account_id}"

  # The queues' ARNs, built from their names: the DLQ's redrive_allow_policy must name the main queue, and the
  # main queue references the DLQ (redrive_policy), so referencing aws_sqs_queue.this there would be a cycle.
  # Policies cannot reference their own queue either.
  queue_arn = "${local.arn_prefix}:${var.name}"
  dlq_arn   = "${local.arn_prefix}:${local.dlq_name}"

  policies = {
    for q, principals in { queue = var.allowed_service_principals, dlq = var.dlq_allowed_service_principals } :
    q => length(principals) == 0 ? null : jsonencode({
      Version = "2012-10-17"
      Statement = [
        for p in principals : {
          Sid       = "Allow${join("", [for part in split(".", p.service) : title(part)])}"
          Effect    = "Allow"
          Principal = { Service = p.service }
          Action    = p.actions
          Resource  = q == "queue" ? local.queue_arn : local.dlq_arn
          Condition = {
            ArnEquals    = { "aws:SourceArn" = p.source_arns }
            StringEquals = { "aws:SourceAccount" = local.account_id }
          }
        }
      ]
    })
  }
  policy = local.policies["queue"]
}

# Redrive, redrive-allow and access policies are set INLINE on aws_sqs_queue rather than with the separate
# aws_sqs_queue_redrive_policy / _redrive_allow_policy / _policy resources: the provider waits for attribute
# propagation once per resource that sets queue attributes, so inline attributes cost one wait per queue and
# the queues of different modules are created in parallel.
resource "aws_sqs_queue" "dlq" {
  name                              = local.dlq_name
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_data_key_reuse_period_seconds
  message_retention_seconds         = var.dlq_message_retention_seconds
  visibility_timeout_seconds        = var.visibility_timeout_seconds

  # Only the main queue may use this queue as its dead-letter queue.
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.queue_arn]
  })

  policy = local.policies["dlq"]

  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  name                              = var.name
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_data_key_reuse_period_seconds
  message_retention_seconds         = var.message_retention_seconds
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  receive_wait_time_seconds         = var.receive_wait_time_seconds

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  policy = local.policy

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_messages_visible" {
  alarm_name          = "${local.dlq_name}-messages-visible"
  alarm_description   = "Messages are waiting in the dead-letter queue ${local.dlq_name}: inspect, fix, then redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_oldest_message_age" {
  alarm_name          = "${local.dlq_name}-oldest-message-age"
  alarm_description   = "The oldest message in ${local.dlq_name} is older than ${var.dlq_age_alarm_threshold_seconds} s; it is lost after ${var.dlq_message_retention_seconds} s."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.dlq_age_alarm_threshold_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}
