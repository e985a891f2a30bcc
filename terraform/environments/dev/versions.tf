terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # Partial configuration: bucket, key, region and locking come from backend.hcl at init
  # (terraform init -backend-config=backend.hcl; see backend.hcl.example).
  backend "s3" {}
}
