# A landing bucket that publishes its events to EventBridge and a versioned output bucket, both encrypted with
# one customer-managed key. The provider points at the local cloud endpoint with test credentials.
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

module "landing" {
  source = "../.."

  name                      = "sluice-example-123456789012-landing"
  kms_key_arn               = module.kms_key.key_arn
  eventbridge_notifications = true
  expiration_days           = 30
  force_destroy             = true
}

module "output" {
  source = "../.."

  name                               = "sluice-example-123456789012-output"
  kms_key_arn                        = module.kms_key.key_arn
  versioning_enabled                 = true
  noncurrent_version_expiration_days = 90
  force_destroy                      = true
}

output "buckets" {
  value = { landing = module.landing.name, output = module.output.name }
}
