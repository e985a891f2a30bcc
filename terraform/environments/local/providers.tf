# The embedded local cloud (python -m localcloud up): a moto server on 127.0.0.1:4580 by default. Every service
# we use, or will use, points at it; static test credentials; nothing is asked of real AWS.
locals {
  endpoint = var.endpoint
}

provider "aws" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true

  # A few retries, not the default 25: the local cloud implements every call the stack makes, so a retry only
  # covers a transient loopback error (seen under CPU contention while tests run beside the apply); an
  # unimplemented call (HTTP 500) still fails within seconds instead of being retried for minutes.
  max_retries = 3

  # Canonical endpoint keys of provider 5.100 (no separate key exists for DynamoDB Streams; sfn = Step Functions,
  # events = EventBridge, logs = CloudWatch Logs).
  endpoints {
    apigateway   = local.endpoint
    apigatewayv2 = local.endpoint
    cloudwatch   = local.endpoint
    dynamodb     = local.endpoint
    events       = local.endpoint
    iam          = local.endpoint
    kinesis      = local.endpoint
    kms          = local.endpoint
    lambda       = local.endpoint
    logs         = local.endpoint
    s3           = local.endpoint
    scheduler    = local.endpoint
    sfn          = local.endpoint
    sns          = local.endpoint
    sqs          = local.endpoint
    ssm          = local.endpoint
    sts          = local.endpoint
    xray         = local.endpoint
  }

  default_tags {
    tags = {
      Project     = "sluice"
      Environment = "local"
      ManagedBy   = "terraform"
    }
  }
}
