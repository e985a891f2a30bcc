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
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/sluice-test-flow" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:sluice-test-flow" }
  }
}

variables {
  name            = "sluice-test-flow"
  definition_file = "tests/fixtures/two_steps.asl.json.tftpl"
  definition_variables = {
    topic_arn = "arn:aws:sns:us-east-1:123456789012:sluice-test-notices"
  }
  lambda_functions = {
    first  = "arn:aws:lambda:us-east-1:123456789012:function:sluice-test-first"
    second = "arn:aws:lambda:us-east-1:123456789012:function:sluice-test-second"
  }
  publish_topic_arns = ["arn:aws:sns:us-east-1:123456789012:sluice-test-notices"]
  kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  alarm_topic_arn    = "arn:aws:sns:us-east-1:123456789012:sluice-test-alarms"
}

run "definition_rendered_with_the_lambdas" {
  command = plan

  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.First.Parameters.FunctionName == var.lambda_functions.first
    error_message = "the template receives the Lambda ARNs as `lambdas`"
  }

  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Notify.Parameters.TopicArn == var.definition_variables.topic_arn
    error_message = "definition_variables reach the template"
  }
}

run "iam_derived_from_what_the_machine_calls" {
  command = plan

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "InvokeLambdas"]) == [
      "arn:aws:lambda:us-east-1:123456789012:function:sluice-test-first",
      "arn:aws:lambda:us-east-1:123456789012:function:sluice-test-second",
      "arn:aws:lambda:us-east-1:123456789012:function:sluice-test-first:*",
      "arn:aws:lambda:us-east-1:123456789012:function:sluice-test-second:*",
    ]
    error_message = "the role invokes exactly the machine's Lambdas (and their versions)"
  }

  assert {
    condition     = jsonencode(one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "PublishToTopics"])) == jsonencode(var.publish_topic_arns)
    error_message = "the role publishes to the declared topics only"
  }

  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "StartExecutions"]) == 0
    error_message = "no StartExecution without start_execution_arns"
  }

  assert {
    condition     = alltrue(flatten([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : [for a in s.Action : a != "*" && !endswith(a, ":*")]]))
    error_message = "no wildcard actions"
  }

  assert {
    condition     = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:states:us-east-1:123456789012:stateMachine:sluice-test-flow"
    error_message = "only this machine assumes the role"
  }
}

run "logging_tracing_encryption_and_alarm" {
  command = plan

  assert {
    condition     = aws_sfn_state_machine.this.logging_configuration[0].level == "ALL" && !aws_sfn_state_machine.this.logging_configuration[0].include_execution_data
    error_message = "logs on (ALL), without execution data by default"
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/vendedlogs/states/sluice-test-flow" && aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn
    error_message = "the log group is a vended-logs group encrypted with the key"
  }

  assert {
    condition     = aws_sfn_state_machine.this.tracing_configuration[0].enabled
    error_message = "X-Ray tracing on"
  }

  assert {
    condition     = aws_sfn_state_machine.this.encryption_configuration[0].kms_key_id == var.kms_key_arn
    error_message = "execution data encrypted with the customer-managed key"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.failed.metric_name == "ExecutionsFailed" && aws_cloudwatch_metric_alarm.failed.alarm_actions == toset([var.alarm_topic_arn])
    error_message = "failed executions alarm to the alarm topic"
  }

  assert {
    condition     = length(aws_iam_role.start) == 0
    error_message = "no EventBridge start role unless rules are named"
  }
}

run "eventbridge_start_role" {
  command = plan

  variables {
    eventbridge_rule_arns = ["arn:aws:events:us-east-1:123456789012:rule/sluice-test-start"]
  }

  assert {
    condition     = jsondecode(aws_iam_role_policy.start[0].policy).Statement[0].Resource == ["arn:aws:states:us-east-1:123456789012:stateMachine:sluice-test-flow"]
    error_message = "the start role starts this machine only"
  }

  assert {
    condition     = jsonencode(jsondecode(aws_iam_role.start[0].assume_role_policy).Statement[0].Condition.ArnLike["aws:SourceArn"]) == jsonencode(var.eventbridge_rule_arns)
    error_message = "only the named rules assume the start role"
  }
}

run "rejects_logging_off" {
  command = plan

  variables {
    log_level = "OFF"
  }

  expect_failures = [var.log_level]
}

run "rejects_qualified_lambda_arns" {
  command = plan

  variables {
    lambda_functions = { first = "arn:aws:lambda:us-east-1:123456789012:function:sluice-test-first:live" }
  }

  expect_failures = [var.lambda_functions]
}

run "nested_workflow_run_to_completion" {
  command = plan

  variables {
    sync_execution_arns = ["arn:aws:states:us-east-1:123456789012:stateMachine:sluice-test-child"]
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "StartExecutions"]) == ["arn:aws:states:us-east-1:123456789012:stateMachine:sluice-test-child"]
    error_message = "the role starts the nested machine only"
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "FollowNestedExecutions"]) == [
      "arn:aws:states:us-east-1:123456789012:execution:sluice-test-child:*",
      "arn:aws:states:us-east-1:123456789012:express:sluice-test-child:*",
    ]
    error_message = "DescribeExecution and StopExecution on the nested machine's executions only (Standard and Express ARNs)"
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "NestedExecutionEventsRule"]) == ["arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"]
    error_message = "the events permissions .sync needs, on AWS's managed rule only"
  }
}

run "rejects_a_nested_machine_that_is_not_a_state_machine_arn" {
  command = plan

  variables {
    sync_execution_arns = ["arn:aws:lambda:us-east-1:123456789012:function:sluice-test-first"]
  }

  expect_failures = [var.sync_execution_arns]
}
