# LocalStack (docker compose up; or run terraform through `tflocal`, which overrides these endpoints with its
# own). Edge endpoint http://localhost:4566, S3 in path style. Every service we use, or will use, points at it.
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

  # An emulator answers 500 for calls it does not implement; the provider would retry those for minutes.
  max_retries = 1

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
      Environment = "localstack"
      ManagedBy   = "terraform"
    }
  }
}
