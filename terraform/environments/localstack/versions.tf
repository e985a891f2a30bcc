terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # State is throwaway, like the emulator's: give a path at init with -backend-config="path=..." if you keep
  # several; without it, terraform.tfstate in this folder. Discard it whenever the LocalStack container restarts.
  backend "local" {}
}
