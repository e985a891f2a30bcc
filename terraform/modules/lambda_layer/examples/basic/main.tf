# Publish the shared layer from the build output (`make build` writes dist/manifest.json and the zips).
# Provider aimed at the local cloud endpoint.
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
    lambda = "http://127.0.0.1:4580"
  }
}

variable "artifacts_dir" {
  description = "Build output folder holding manifest.json."
  type        = string
  default     = "../../../../../dist"
}

locals {
  layer = jsondecode(file("${var.artifacts_dir}/manifest.json")).artifacts["layers/shared"]
}

module "shared_layer" {
  source = "../.."

  name                = "sluice-example-shared"
  description         = "sluice shared package"
  package_path        = abspath("${var.artifacts_dir}/${local.layer.path}")
  package_hash        = local.layer.sha256_base64
  compatible_runtimes = ["python3.11"]
}

output "layer_version_arn" {
  value = module.shared_layer.arn
}
