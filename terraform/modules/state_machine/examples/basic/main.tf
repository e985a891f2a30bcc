# A small state machine on the module: a Pass state and an SNS publish (an encrypted topic), logs and X-Ray on,
# an EventBridge rule allowed to start it. Provider aimed at the local cloud endpoint.
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
    iam        = "http://127.0.0.1:4580"
    kms        = "http://127.0.0.1:4580"
    logs       = "http://127.0.0.1:4580"
    sfn        = "http://127.0.0.1:4580"
    sns        = "http://127.0.0.1:4580"
    sts        = "http://127.0.0.1:4580"
  }
}

data "aws_caller_identity" "current" {}

module "kms_key" {
  source = "../../../kms_key"

  name                    = "sluice-example"
  deletion_window_in_days = 7
  log_group_name_patterns = ["/aws/vendedlogs/states/sluice-example-*"]
}

module "greetings" {
  source = "../../../topic"

  name        = "sluice-example-greetings"
  kms_key_arn = module.kms_key.key_arn
}

module "hello" {
  source = "../.."

  name                  = "sluice-example-hello"
  definition_file       = "${path.module}/hello.asl.json.tftpl"
  definition_variables  = { topic_arn = module.greetings.arn }
  publish_topic_arns    = [module.greetings.arn]
  kms_key_arn           = module.kms_key.key_arn
  log_retention_days    = 7
  eventbridge_rule_arns = ["arn:aws:events:us-east-1:${data.aws_caller_identity.current.account_id}:rule/sluice-example-hello"]
}

output "state_machine_arn" {
  value = module.hello.arn
}
