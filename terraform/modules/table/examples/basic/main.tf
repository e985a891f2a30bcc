# Two tables encrypted with one customer-managed key: an idempotency table with TTL and a table with a sort key
# and a stream. Provider aimed at the local cloud endpoint.
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
    dynamodb = "http://127.0.0.1:4580"
    kms      = "http://127.0.0.1:4580"
    sts      = "http://127.0.0.1:4580"
  }
}

module "kms_key" {
  source = "../../../kms_key"

  name                    = "sluice-example"
  deletion_window_in_days = 7
}

module "idempotency" {
  source = "../.."

  name          = "sluice-example-idempotency"
  hash_key      = { name = "id" }
  ttl_attribute = "expiration"
  kms_key_arn   = module.kms_key.key_arn
}

module "failures" {
  source = "../.."

  name             = "sluice-example-failures"
  hash_key         = { name = "pipeline" }
  range_key        = { name = "item_id" }
  stream_view_type = "NEW_IMAGE"
  kms_key_arn      = module.kms_key.key_arn
}

output "tables" {
  value = [module.idempotency.name, module.failures.name]
}
