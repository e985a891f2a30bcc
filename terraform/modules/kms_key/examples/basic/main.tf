# Smallest use of the kms_key module. The provider points at a local endpoint (the embedded local cloud) with
# test credentials, so `terraform validate` works anywhere and `apply` works against `python -m localcloud up`.
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
    sts = "http://127.0.0.1:4580"
  }
}

module "kms_key" {
  source = "../.."

  name                    = "sluice-example"
  deletion_window_in_days = 7
  log_group_name_patterns = ["/aws/lambda/sluice-example-*"]
  tags                    = { Project = "sluice", Example = "kms_key/basic" }
}

output "key_arn" {
  value = module.kms_key.key_arn
}

output "alias_name" {
  value = module.kms_key.alias_name
}
