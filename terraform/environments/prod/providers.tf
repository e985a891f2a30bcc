provider "aws" {
  region = var.region

  # Refuse to run against any other account (set it; empty = no check).
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  default_tags {
    tags = merge(var.tags, {
      Project     = "sluice"
      Environment = "prod"
      ManagedBy   = "terraform"
    })
  }
}
