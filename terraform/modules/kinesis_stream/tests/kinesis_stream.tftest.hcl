mock_provider "aws" {}

variables {
  name            = "sluice-test-transactions"
  kms_key_arn     = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  alarm_topic_arn = "arn:aws:sns:us-east-1:123456789012:sluice-test-alarms"
  shard_count     = 2
}

run "provisioned_and_encrypted" {
  command = plan

  assert {
    condition     = aws_kinesis_stream.this.encryption_type == "KMS" && aws_kinesis_stream.this.kms_key_id == var.kms_key_arn
    error_message = "the stream is encrypted with the given customer-managed key"
  }

  assert {
    condition     = aws_kinesis_stream.this.shard_count == 2 && aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "PROVISIONED"
    error_message = "provisioned with shard_count shards by default"
  }

  assert {
    condition     = aws_kinesis_stream.this.retention_period == 24
    error_message = "24 h retention by default"
  }
}

run "iterator_age_alarm" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.iterator_age.namespace == "AWS/Kinesis"
      && aws_cloudwatch_metric_alarm.iterator_age.metric_name == "GetRecords.IteratorAgeMilliseconds"
      && aws_cloudwatch_metric_alarm.iterator_age.statistic == "Maximum"
      && aws_cloudwatch_metric_alarm.iterator_age.threshold == 60000
      && aws_cloudwatch_metric_alarm.iterator_age.dimensions.StreamName == "sluice-test-transactions"
    )
    error_message = "alarm on the maximum iterator age of the stream"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.iterator_age.alarm_actions == toset([var.alarm_topic_arn]) && aws_cloudwatch_metric_alarm.iterator_age.ok_actions == toset([var.alarm_topic_arn])
    error_message = "the alarm notifies the alarm topic"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.write_throttled.metric_name == "WriteProvisionedThroughputExceeded"
    error_message = "alarm on throttled writes"
  }
}

run "on_demand" {
  command = plan

  variables {
    stream_mode = "ON_DEMAND"
  }

  assert {
    condition     = aws_kinesis_stream.this.shard_count == null && aws_kinesis_stream.this.stream_mode_details[0].stream_mode == "ON_DEMAND"
    error_message = "on demand: no shard count"
  }

  assert {
    condition     = output.shard_count == null
    error_message = "no shard count output on demand"
  }
}

run "refuses_a_bad_mode" {
  command = plan

  variables {
    stream_mode = "SOMETIMES"
  }

  expect_failures = [var.stream_mode]
}

run "refuses_short_retention" {
  command = plan

  variables {
    retention_hours = 12
  }

  expect_failures = [var.retention_hours]
}
