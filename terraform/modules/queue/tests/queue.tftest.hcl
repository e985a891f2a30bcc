mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}

variables {
  name            = "sluice-test-work"
  kms_key_arn     = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  alarm_topic_arn = "arn:aws:sns:us-east-1:123456789012:sluice-test-alarms"
}

run "dlq_alarms" {
  command = plan

  assert {
    condition     = output.policy == null
    error_message = "no queue policy without allowed principals"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.dlq_messages_visible.metric_name == "ApproximateNumberOfMessagesVisible"
      && aws_cloudwatch_metric_alarm.dlq_messages_visible.threshold == 0
      && aws_cloudwatch_metric_alarm.dlq_messages_visible.comparison_operator == "GreaterThanThreshold"
      && aws_cloudwatch_metric_alarm.dlq_messages_visible.dimensions.QueueName == "sluice-test-work-dlq"
    )
    error_message = "alarm when any message is visible in the DLQ"
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.dlq_oldest_message_age.metric_name == "ApproximateAgeOfOldestMessage"
      && aws_cloudwatch_metric_alarm.dlq_oldest_message_age.threshold == 3600
    )
    error_message = "alarm on the age of the oldest dead letter"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq_messages_visible.alarm_actions == toset([var.alarm_topic_arn])
    error_message = "alarms notify the topic"
  }
}

run "queue_and_dlq" {
  assert {
    condition     = aws_sqs_queue.dlq.name == "sluice-test-work-dlq"
    error_message = "the DLQ is <name>-dlq"
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy).maxReceiveCount == 3
    error_message = "maxReceiveCount defaults to 3"
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy).deadLetterTargetArn == aws_sqs_queue.dlq.arn
    error_message = "the redrive policy targets the DLQ"
  }

  assert {
    condition = jsondecode(aws_sqs_queue.dlq.redrive_allow_policy) == {
      redrivePermission = "byQueue"
      sourceQueueArns   = ["arn:aws:sqs:us-east-1:123456789012:sluice-test-work"]
    }
    error_message = "only the main queue may use the DLQ"
  }

  assert {
    condition     = aws_sqs_queue.this.kms_master_key_id == var.kms_key_arn && aws_sqs_queue.dlq.kms_master_key_id == var.kms_key_arn
    error_message = "both queues are encrypted with the key"
  }

  assert {
    condition     = aws_sqs_queue.dlq.message_retention_seconds == 1209600
    error_message = "dead letters are kept 14 days"
  }
}

run "queue_policy_from_principals" {
  command = plan

  variables {
    max_receive_count = 5
    allowed_service_principals = [
      { service = "events.amazonaws.com", source_arns = ["arn:aws:events:us-east-1:123456789012:rule/sluice-test-route"] },
    ]
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy).maxReceiveCount == 5
    error_message = "maxReceiveCount is configurable"
  }

  assert {
    condition = jsondecode(output.policy).Statement == [
      {
        Sid       = "AllowEventsAmazonawsCom"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["sqs:SendMessage"]
        Resource  = "arn:aws:sqs:us-east-1:123456789012:sluice-test-work"
        Condition = {
          ArnEquals    = { "aws:SourceArn" = ["arn:aws:events:us-east-1:123456789012:rule/sluice-test-route"] }
          StringEquals = { "aws:SourceAccount" = "123456789012" }
        }
      },
    ]
    error_message = "the policy allows exactly the listed principal from the listed sources"
  }

  assert {
    condition     = output.dlq_policy == null
    error_message = "no DLQ policy unless asked"
  }
}

run "dlq_policy_for_undeliverable_events" {
  command = plan

  variables {
    dlq_allowed_service_principals = [
      { service = "events.amazonaws.com", source_arns = ["arn:aws:events:us-east-1:123456789012:rule/sluice-test-route"] },
    ]
  }

  assert {
    condition     = jsondecode(output.dlq_policy).Statement[0].Resource == "arn:aws:sqs:us-east-1:123456789012:sluice-test-work-dlq"
    error_message = "the DLQ policy is about the DLQ"
  }

  assert {
    condition     = jsondecode(output.dlq_policy).Statement[0].Condition.ArnEquals["aws:SourceArn"] == ["arn:aws:events:us-east-1:123456789012:rule/sluice-test-route"]
    error_message = "limited to the rule"
  }
}

run "rejects_wildcard_actions" {
  command = plan

  variables {
    allowed_service_principals = [
      { service = "events.amazonaws.com", source_arns = ["arn:aws:events:us-east-1:123456789012:rule/x"], actions = ["sqs:*"] },
    ]
  }

  expect_failures = [var.allowed_service_principals]
}
