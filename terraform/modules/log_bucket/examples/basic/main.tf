# An access-log bucket and a data bucket that delivers its S3 server access logs to it.
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
    kms = "http://127.0.0.1:4580"
    s3  = "http://127.0.0.1:4580"
    sts = "http://127.0.0.1:4580"
  }
}

module "kms_key" {
  source = "../../../kms_key"

  name                    = "sluice-example"
  deletion_window_in_days = 7
}

module "access_logs" {
  source = "../.."

  name               = "sluice-example-123456789012-access-logs"
  account_id         = "123456789012"
  source_bucket_arns = ["arn:aws:s3:::sluice-example-123456789012-*"]
}

module "data" {
  source = "../../../bucket"

  name              = "sluice-example-123456789012-data"
  kms_key_arn       = module.kms_key.key_arn
  access_logging    = true
  access_log_bucket = module.access_logs.name
}
