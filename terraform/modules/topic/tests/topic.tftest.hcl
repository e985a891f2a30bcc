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
  name        = "sluice-test-alarms"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  publishers = [
    { service = "cloudwatch.amazonaws.com", source_arns = ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:sluice-test-*"] },
  ]
}

run "encrypted_with_policy" {
  command = plan

  assert {
    condition     = aws_sns_topic.this.kms_master_key_id == var.kms_key_arn
    error_message = "the topic is encrypted with the key"
  }

  assert {
    condition = one([
      for s in jsondecode(aws_sns_topic.this.policy).Statement : s if s.Sid == "AllowCloudwatchAmazonawsCom"
      ]) == {
      Sid       = "AllowCloudwatchAmazonawsCom"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = "arn:aws:sns:us-east-1:123456789012:sluice-test-alarms"
      Condition = {
        ArnLike      = { "aws:SourceArn" = ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:sluice-test-*"] }
        StringEquals = { "aws:SourceAccount" = "123456789012" }
      }
    }
    error_message = "CloudWatch alarms of this account may publish"
  }

  assert {
    condition     = length(aws_sns_topic_subscription.email) == 0
    error_message = "no subscriptions by default"
  }
}

run "email_subscription" {
  command = plan

  variables {
    email_subscriptions = ["oncall@example.com"]
  }

  assert {
    condition     = aws_sns_topic_subscription.email["oncall@example.com"].protocol == "email"
    error_message = "email subscription"
  }
}

run "rejects_bad_email" {
  command = plan

  variables {
    email_subscriptions = ["not-an-email"]
  }

  expect_failures = [var.email_subscriptions]
}
