# An encrypted alarm topic that CloudWatch alarms named sluice-example-* may publish to, with an optional email
# subscription. Provider aimed at the local cloud endpoint.
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
    kms = "http://127.0.0.1:4580"
    sns = "http://127.0.0.1:4580"
    sts = "http://127.0.0.1:4580"
  }
}

variable "alarm_email" {
  type    = string
  default = null
}

data "aws_caller_identity" "current" {}

module "kms_key" {
  source = "../../../kms_key"

  name                    = "sluice-example"
  deletion_window_in_days = 7
}

module "alarms" {
  source = "../.."

  name        = "sluice-example-alarms"
  kms_key_arn = module.kms_key.key_arn
  publishers = [
    {
      service     = "cloudwatch.amazonaws.com"
      source_arns = ["arn:aws:cloudwatch:us-east-1:${data.aws_caller_identity.current.account_id}:alarm:sluice-example-*"]
    },
  ]
  email_subscriptions = var.alarm_email == null ? [] : [var.alarm_email]
}

output "topic_arn" {
  value = module.alarms.arn
}
