mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
}

variables {
  name                    = "sluice-test"
  log_group_name_patterns = ["/aws/lambda/sluice-test-*"]
}

run "key_settings" {
  command = plan

  assert {
    condition     = aws_kms_key.this.enable_key_rotation == true
    error_message = "rotation must be on"
  }

  assert {
    condition     = aws_kms_alias.this.name == "alias/sluice-test"
    error_message = "alias must be alias/<name>"
  }
}

run "key_policy" {
  command = plan

  variables {
    administrator_arns = ["arn:aws:iam::123456789012:role/admin"]
  }

  assert {
    condition = toset(jsondecode(aws_kms_key.this.policy).Statement[0].Principal.AWS) == toset([
      "arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:role/admin",
    ])
    error_message = "the account and the extra administrators administer the key"
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_kms_key.this.policy).Statement :
      !contains(flatten([s.Action]), "kms:*") && !contains(flatten([s.Action]), "kms:Decrypt") if s.Sid == "AccountAdministration"
    ])
    error_message = "administration must not include cryptographic use"
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition.StringEquals["kms:ViaService"]
      if s.Sid == "UseThroughAwsServices"
    ]) == ["s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com", "sns.eu-west-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com"]
    error_message = "use through s3, sqs, sns and dynamodb in the key's region"
  }

  assert {
    condition = contains(one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Principal.Service
      if s.Sid == "ServicePrincipalsDeliverEncrypted"
    ]), "events.amazonaws.com")
    error_message = "EventBridge must be able to deliver to encrypted queues"
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]
      if s.Sid == "CloudWatchLogs"
      ]) == [
      "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/sluice-test-*",
    ]
    error_message = "CloudWatch Logs use is limited by encryption context to our log groups"
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Principal.Service if s.Sid == "CloudWatchLogs"
    ]) == "logs.eu-west-1.amazonaws.com"
    error_message = "the logs principal is regional"
  }
}

run "no_logs_statement_when_empty" {
  command = plan

  variables {
    log_group_name_patterns = []
    service_principals      = []
  }

  assert {
    condition     = length([for s in jsondecode(aws_kms_key.this.policy).Statement : s if contains(["CloudWatchLogs", "ServicePrincipalsDeliverEncrypted"], s.Sid)]) == 0
    error_message = "optional statements disappear when their inputs are empty"
  }
}

run "rejects_reserved_alias" {
  command = plan

  variables {
    name = "aws/s3"
  }

  expect_failures = [var.name]
}

run "apply" {
  assert {
    condition     = output.alias_name == "alias/sluice-test"
    error_message = "alias output"
  }

  assert {
    condition     = output.key_arn == aws_kms_key.this.arn
    error_message = "key_arn output"
  }
}
