# An HTTP API with two routes to one Lambda function (payload format 2.0), on the $default stage, with access
# logs; both routes are authorized by a Lambda authorizer (a route may opt out with public = true). Provider
# aimed at the local cloud endpoint; the local cloud serves the API at
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
  description = "A zip with hello.py: def handler(event, context): return {\"statusCode\": 200, \"body\": event[\"rawPath\"]}, and allow.py: def handler(event, context): return {\"isAuthorized\": event[\"headers\"].get(\"authorization\") == \"Bearer let-me-in\"}."
  type        = string
  default     = "hello.zip"
}

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "logs" {
  description         = "sluice example: access logs"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "Account"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*" # in a key policy, "*" is the key itself
      },
      {
        Sid       = "Logs"
        Effect    = "Allow"
        Principal = { Service = "logs.us-east-1.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*" # in a key policy, "*" is the key itself
      },
    ]
  })
}

resource "aws_iam_role" "hello" {
  name = "sluice-example-hello"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_lambda_function" "hello" {
  for_each = { hello = "hello.handler", allow = "allow.handler" }
  #checkov:skip=CKV_AWS_50:A minimal example; the stack's functions use terraform/modules/lambda_function (tracing on).
  #checkov:skip=CKV_AWS_115:A minimal example; the stack's functions set reserved concurrency where it matters.
  #checkov:skip=CKV_AWS_116:A minimal example, invoked synchronously by API Gateway: no asynchronous DLQ applies.
  #checkov:skip=CKV_AWS_117:A minimal example with no private resource to reach.
  #checkov:skip=CKV_AWS_272:A minimal example; code signing is a per-organisation choice.
  #checkov:skip=CKV_AWS_173:A minimal example without environment variables.
  function_name = "sluice-example-${each.key}"
  role          = aws_iam_role.hello.arn
  handler       = each.value
  runtime       = "python3.12"
  filename      = var.function_zip
}

module "api" {
  source = "../.."

  name        = "sluice-example-api"
  kms_key_arn = aws_kms_key.logs.arn
  lambda_integrations = {
    hello = { function_name = aws_lambda_function.hello["hello"].function_name, function_arn = aws_lambda_function.hello["hello"].arn }
  }
  routes = {
    "GET /hello/{name}" = { integration = "hello" }
    "$default"          = { integration = "hello" }
  }
  authorizer = {
    type               = "REQUEST"
    function_name      = aws_lambda_function.hello["allow"].function_name
    invoke_arn         = aws_lambda_function.hello["allow"].invoke_arn
    result_ttl_seconds = 0
  }
}

output "invoke_url" {
  value = module.api.invoke_url
}
