terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # State lives next to the local cloud's data so that it is discarded with the server (moto keeps state in
  # memory). Give the path at init: terraform init -backend-config="path=<instance dir>/terraform.tfstate".
  # Without it, terraform.tfstate in this folder.
  backend "local" {}
}
