# A work queue with its dead-letter queue, KMS encryption, DLQ alarms to an SNS topic, and a queue policy that
# lets one EventBridge rule (named, not referenced) send to it. Provider aimed at the local cloud endpoint.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true

  endpoints {
    cloudwatch = "http://127.0.0.1:4580"
    kms        = "http://127.0.0.1:4580"
    sns        = "http://127.0.0.1:4580"
    sqs        = "http://127.0.0.1:4580"
    sts        = "http://127.0.0.1:4580"
  }
}

data "aws_caller_identity" "current" {}

module "kms_key" {
  source = "../../../kms_key"

  name                    = "sluice-example"
  deletion_window_in_days = 7
}

resource "aws_sns_topic" "alarms" {
  name              = "sluice-example-alarms"
  kms_master_key_id = module.kms_key.key_arn
}

module "queue" {
  source = "../.."

  name                       = "sluice-example-work"
  kms_key_arn                = module.kms_key.key_arn
  visibility_timeout_seconds = 180
  alarm_topic_arn            = aws_sns_topic.alarms.arn
  allowed_service_principals = [
    {
      service     = "events.amazonaws.com"
      source_arns = ["arn:aws:events:us-east-1:${data.aws_caller_identity.current.account_id}:rule/sluice-example-route"]
    },
  ]
}

output "queue_url" {
  value = module.queue.url
}

output "dlq_url" {
  value = module.queue.dlq_url
}
