# A KMS-encrypted Kinesis stream with 2 provisioned shards and its iterator-age alarm to an SNS topic, and a
# second one on demand. Provider aimed at the local cloud endpoint.
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
    kinesis    = "http://127.0.0.1:4580"
    kms        = "http://127.0.0.1:4580"
    sns        = "http://127.0.0.1:4580"
    sts        = "http://127.0.0.1:4580"
  }
}

module "kms_key" {
  source = "../../../kms_key"

  name                    = "sluice-example"
  deletion_window_in_days = 7
}

resource "aws_sns_topic" "alarms" {
  name              = "sluice-example-alarms"
  kms_master_key_id = module.kms_key.key_arn
}

module "transactions" {
  source = "../.."

  name                            = "sluice-example-transactions"
  kms_key_arn                     = module.kms_key.key_arn
  shard_count                     = 2
  alarm_topic_arn                 = aws_sns_topic.alarms.arn
  iterator_age_alarm_threshold_ms = 30000
}

module "clicks" {
  source = "../.."

  name            = "sluice-example-clicks"
  kms_key_arn     = module.kms_key.key_arn
  stream_mode     = "ON_DEMAND"
  alarm_topic_arn = aws_sns_topic.alarms.arn
}

output "stream_arn" {
  value = module.transactions.arn
}

output "on_demand_stream_arn" {
  value = module.clicks.arn
}
