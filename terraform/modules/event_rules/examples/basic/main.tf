# Routes as data: S3 "Object Created" events for incoming/*.json to a queue (with a dead-letter queue for
# undeliverable events and an input transformer on a second route), and a schedule. Provider aimed at the local
# cloud endpoint.
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
    events = "http://127.0.0.1:4580"
    sqs    = "http://127.0.0.1:4580"
    sts    = "http://127.0.0.1:4580"
  }
}

resource "aws_sqs_queue" "work" {
  name                    = "sluice-example-work"
  sqs_managed_sse_enabled = true
}

resource "aws_sqs_queue" "undeliverable" {
  name                    = "sluice-example-undeliverable"
  sqs_managed_sse_enabled = true
}

module "rules" {
  source = "../.."

  rules = {
    "sluice-example-object-created" = {
      description = "New JSON objects under incoming/ in the landing bucket"
      event_pattern = {
        source        = ["aws.s3"]
        "detail-type" = ["Object Created"]
        detail = {
          bucket = { name = ["sluice-example-landing"] }
          object = { key = [{ wildcard = "incoming/*.json" }] }
        }
      }
      targets = {
        work = {
          arn             = aws_sqs_queue.work.arn
          dead_letter_arn = aws_sqs_queue.undeliverable.arn
          retry_policy    = { maximum_event_age_in_seconds = 3600, maximum_retry_attempts = 10 }
        }
        audit = {
          arn = aws_sqs_queue.undeliverable.arn
          input_transformer = {
            input_paths    = { key = "$.detail.object.key" }
            input_template = "{\"key\": <key>}"
          }
        }
      }
    }
    "sluice-example-nightly" = {
      schedule_expression = "cron(0 2 * * ? *)"
      state               = "DISABLED"
      targets             = { work = { arn = aws_sqs_queue.work.arn, input = jsonencode({ task = "compact" }) } }
    }
  }
}

output "rule_arns" {
  value = module.rules.rule_arns
}
