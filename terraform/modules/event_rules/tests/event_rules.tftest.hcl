mock_provider "aws" {}

variables {
  rules = {
    "sluice-test-object-created" = {
      description = "objects"
      event_pattern = {
        source        = ["aws.s3"]
        "detail-type" = ["Object Created"]
        detail        = { object = { key = [{ wildcard = "incoming/*.json" }] } }
      }
      targets = {
        queue = {
          arn             = "arn:aws:sqs:us-east-1:123456789012:work"
          dead_letter_arn = "arn:aws:sqs:us-east-1:123456789012:work-dlq"
          retry_policy    = { maximum_retry_attempts = 4 }
        }
        machine = {
          arn               = "arn:aws:states:us-east-1:123456789012:stateMachine:sm"
          role_arn          = "arn:aws:iam::123456789012:role/events-sfn"
          input_transformer = { input_paths = { key = "$.detail.object.key" }, input_template = "{\"key\": <key>}" }
        }
      }
    }
    "sluice-test-custom-bus" = {
      event_bus_name = "sluice-test"
      event_pattern  = "{\"source\":[\"sluice\"]}"
      state          = "DISABLED"
    }
  }
}

run "rules_from_data" {
  command = plan

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this["sluice-test-object-created"].event_pattern) == {
      source        = ["aws.s3"]
      "detail-type" = ["Object Created"]
      detail        = { object = { key = [{ wildcard = "incoming/*.json" }] } }
    }
    error_message = "object patterns are jsonencoded"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.this["sluice-test-custom-bus"].event_pattern == "{\"source\":[\"sluice\"]}"
    error_message = "string patterns are used as they are"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.this["sluice-test-object-created"].event_bus_name == "default" && aws_cloudwatch_event_rule.this["sluice-test-object-created"].state == "ENABLED"
    error_message = "default bus, enabled by default"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.this["sluice-test-custom-bus"].event_bus_name == "sluice-test" && aws_cloudwatch_event_rule.this["sluice-test-custom-bus"].state == "DISABLED"
    error_message = "bus and state are taken from the rule"
  }

  assert {
    condition     = length(aws_cloudwatch_event_target.this) == 2
    error_message = "one target resource per (rule, target)"
  }
}

run "targets" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_event_target.this["sluice-test-object-created/queue"].arn == "arn:aws:sqs:us-east-1:123456789012:work"
      && one(aws_cloudwatch_event_target.this["sluice-test-object-created/queue"].dead_letter_config).arn == "arn:aws:sqs:us-east-1:123456789012:work-dlq"
      && one(aws_cloudwatch_event_target.this["sluice-test-object-created/queue"].retry_policy).maximum_retry_attempts == 4
      && length(aws_cloudwatch_event_target.this["sluice-test-object-created/queue"].input_transformer) == 0
    )
    error_message = "queue target with its dead-letter queue and retry policy"
  }

  assert {
    condition = (
      aws_cloudwatch_event_target.this["sluice-test-object-created/machine"].role_arn == "arn:aws:iam::123456789012:role/events-sfn"
      && one(aws_cloudwatch_event_target.this["sluice-test-object-created/machine"].input_transformer).input_template == "{\"key\": <key>}"
      && length(aws_cloudwatch_event_target.this["sluice-test-object-created/machine"].dead_letter_config) == 0
    )
    error_message = "state machine target with a role and an input transformer"
  }
}

run "rejects_typo" {
  command = plan

  variables {
    rules = { r = { event_patern = { source = ["x"] } } }
  }

  expect_failures = [var.rules]
}

run "rejects_rule_without_pattern_or_schedule" {
  command = plan

  variables {
    rules = { r = { targets = { t = { arn = "arn:aws:sqs:us-east-1:123456789012:q" } } } }
  }

  expect_failures = [var.rules]
}

run "rejects_target_without_arn" {
  command = plan

  variables {
    rules = { r = { schedule_expression = "rate(1 hour)", targets = { t = { input = "{}" } } } }
  }

  expect_failures = [var.rules]
}
