# A function fed by a KMS-encrypted Kinesis stream: batches of 100 (1 s window), a failed batch bisected down to
# the record that fails, 2 retries, records older than an hour skipped, and an invocation record for each
# record given up on in an SQS queue (the on-failure destination). Partial batch responses on.
# Provider aimed at the local cloud endpoint.
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
  s3_use_path_style           = true

  endpoints {
    cloudwatch = "http://127.0.0.1:4580"
    iam        = "http://127.0.0.1:4580"
    kinesis    = "http://127.0.0.1:4580"
    kms        = "http://127.0.0.1:4580"
    lambda     = "http://127.0.0.1:4580"
    logs       = "http://127.0.0.1:4580"
    sqs        = "http://127.0.0.1:4580"
    sts        = "http://127.0.0.1:4580"
  }
}

variable "artifacts_dir" {
  description = "Build output folder holding manifest.json."
  type        = string
  default     = "../../../../../dist"
}

locals {
  artifact = jsondecode(file("${var.artifacts_dir}/manifest.json")).artifacts["functions/fraud_scorer"]
}

module "kms_key" {
  source = "../../../kms_key"

  name                    = "sluice-example"
  deletion_window_in_days = 7
  log_group_name_patterns = ["/aws/lambda/sluice-example-*"]
}

module "stream" {
  source = "../../../kinesis_stream"

  name        = "sluice-example-transactions"
  kms_key_arn = module.kms_key.key_arn
  shard_count = 2
}

module "failures" {
  source = "../../../queue"

  name        = "sluice-example-scorer-failures"
  kms_key_arn = module.kms_key.key_arn
}

module "function" {
  source = "../.."

  name               = "sluice-example-scorer"
  service_name       = "scorer"
  environment        = "example"
  handler            = "fraud_scorer.handler.handler"
  package_path       = abspath("${var.artifacts_dir}/${local.artifact.path}")
  package_hash       = local.artifact.sha256_base64
  timeout            = 30
  kms_key_arn        = module.kms_key.key_arn
  log_retention_days = 365

  stream_event_sources = {
    transactions = {
      event_source_arn                   = module.stream.arn
      starting_position                  = "TRIM_HORIZON"
      batch_size                         = 100
      maximum_batching_window_in_seconds = 1
      bisect_batch_on_function_error     = true
      maximum_retry_attempts             = 2
      maximum_record_age_in_seconds      = 3600
      on_failure_destination_arn         = module.failures.arn
    }
  }
}

output "function_name" {
  value = module.function.function_name
}

output "stream_event_sources" {
  value = module.function.stream_event_sources
}
