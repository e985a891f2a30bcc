# A function triggered by an SQS queue (partial batch failures reported), with its log group, role, alarms and
# one extra least-privilege statement. Code comes from the build output (`make build` writes dist/).
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
  artifact = jsondecode(file("${var.artifacts_dir}/manifest.json")).artifacts["functions/ingest_processor"]
}

module "kms_key" {
  source = "../../../kms_key"

  name                    = "sluice-example"
  deletion_window_in_days = 7
  log_group_name_patterns = ["/aws/lambda/sluice-example-*"]
}

module "queue" {
  source = "../../../queue"

  name                       = "sluice-example-work"
  kms_key_arn                = module.kms_key.key_arn
  visibility_timeout_seconds = 180
}

module "function" {
  source = "../.."

  name               = "sluice-example-worker"
  service_name       = "worker"
  environment        = "example"
  handler            = "ingest_processor.handler.handler"
  package_path       = abspath("${var.artifacts_dir}/${local.artifact.path}")
  package_hash       = local.artifact.sha256_base64
  timeout            = 30
  kms_key_arn        = module.kms_key.key_arn
  log_retention_days = 365

  environment_variables = {
    DLQ_URL = module.queue.dlq_url
  }

  policy_statements = [
    {
      sid       = "DeadLetterDirectly"
      actions   = ["sqs:SendMessage"]
      resources = [module.queue.dlq_arn]
    },
  ]

  sqs_event_sources = {
    work = {
      queue_arn                          = module.queue.arn
      batch_size                         = 10
      maximum_batching_window_in_seconds = 1
    }
  }
}

output "function_name" {
  value = module.function.function_name
}
