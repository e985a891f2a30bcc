# An HTTP API with two routes to one Lambda function (payload format 2.0), on the $default stage, with access
# logs. Provider aimed at the local cloud endpoint; the local cloud serves the API at
# http://127.0.0.1:4581/<api id>/<path> (`python -m localcloud status` shows the URL).
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
    apigatewayv2 = "http://127.0.0.1:4580"
    iam          = "http://127.0.0.1:4580"
    kms          = "http://127.0.0.1:4580"
    lambda       = "http://127.0.0.1:4580"
    logs         = "http://127.0.0.1:4580"
    sts          = "http://127.0.0.1:4580"
  }
}

variable "function_zip" {
  description = "A zip with hello.py: def handler(event, context): return {\"statusCode\": 200, \"body\": event[\"rawPath\"]}."
  type        = string
  default     = "hello.zip"
}

module "kms_key" {
  source = "../../../kms_key"

  name                    = "sluice-example-api"
  deletion_window_in_days = 7
  log_group_name_patterns = ["/aws/vendedlogs/apigateway/sluice-example-*"]
}

resource "aws_iam_role" "hello" {
  name = "sluice-example-hello"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_lambda_function" "hello" {
  #checkov:skip=CKV_AWS_115:A stand-in integration target for the example; the repo's functions use the lambda_function module.
  #checkov:skip=CKV_AWS_116:A stand-in integration target for the example, invoked synchronously by the API (no asynchronous events to dead-letter).
  #checkov:skip=CKV_AWS_117:A stand-in integration target for the example; it reaches no private resource.
  #checkov:skip=CKV_AWS_272:A stand-in integration target for the example; code signing is a per-organisation choice.
  function_name = "sluice-example-hello"
  role          = aws_iam_role.hello.arn
  handler       = "hello.handler"
  runtime       = "python3.12"
  filename      = var.function_zip

  tracing_config {
    mode = "Active"
  }
}

module "api" {
  source = "../.."

  name        = "sluice-example-api"
  kms_key_arn = module.kms_key.key_arn
  lambda_integrations = {
    hello = { function_name = aws_lambda_function.hello.function_name, function_arn = aws_lambda_function.hello.arn }
  }
  routes = {
    "GET /hello/{name}" = { integration = "hello" }
    "$default"          = { integration = "hello" }
  }
}

output "invoke_url" {
  value = module.api.invoke_url
}
