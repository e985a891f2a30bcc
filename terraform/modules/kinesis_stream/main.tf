locals {
  on_demand     = var.stream_mode == "ON_DEMAND"
  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
}

resource "aws_kinesis_stream" "this" {
  name             = var.name
  shard_count      = local.on_demand ? null : var.shard_count
  retention_period = var.retention_hours

  # Server-side encryption with the environment's customer-managed key (never the AWS-managed aws/kinesis key).
  encryption_type = "KMS"
  kms_key_id      = var.kms_key_arn

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  tags = var.tags
}

# The consumers fall behind: the oldest record a reader asked for is older than the threshold. GetRecords'
# iterator age is the stream-level view of every consumer (the Lambda poller included); the consuming function
# has its own IteratorAge metric too.
resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  alarm_name          = "${var.name}-iterator-age"
  alarm_description   = "Consumers of ${var.name} are behind: GetRecords iterator age over ${var.iterator_age_alarm_threshold_ms} ms (records expire after ${var.retention_hours} h)."
  namespace           = "AWS/Kinesis"
  metric_name         = "GetRecords.IteratorAgeMilliseconds"
  dimensions          = { StreamName = aws_kinesis_stream.this.name }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_alarm_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# Producers are throttled (a provisioned stream short of shards, or a hot partition key).
resource "aws_cloudwatch_metric_alarm" "write_throttled" {
  alarm_name          = "${var.name}-write-throttled"
  alarm_description   = "Writes to ${var.name} were throttled (WriteProvisionedThroughputExceeded > ${var.write_throttle_alarm_threshold} per ${var.alarm_period_seconds} s): add shards or spread the partition keys."
  namespace           = "AWS/Kinesis"
  metric_name         = "WriteProvisionedThroughputExceeded"
  dimensions          = { StreamName = aws_kinesis_stream.this.name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.write_throttle_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
