mock_provider "aws" {
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::sluice-test-123456789012-access-logs" }
  }
}

variables {
  name               = "sluice-test-123456789012-access-logs"
  account_id         = "123456789012"
  source_bucket_arns = ["arn:aws:s3:::sluice-test-123456789012-*"]
}

run "secure_log_target" {
  command = apply

  assert {
    condition     = output.encryption == "AES256"
    error_message = "log delivery needs SSE-S3 default encryption"
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "all four public access block settings must be on"
  }

  assert {
    condition     = one([for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Principal.Service if s.Sid == "AllowServerAccessLogDelivery"]) == "logging.s3.amazonaws.com"
    error_message = "log delivery is granted to the S3 logging service by policy"
  }

  assert {
    condition     = one([for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Condition.StringEquals["aws:SourceAccount"] if s.Sid == "AllowServerAccessLogDelivery"]) == var.account_id
    error_message = "only our account's buckets may deliver logs"
  }

  assert {
    condition     = one([for s in jsondecode(aws_s3_bucket_policy.this.policy).Statement : s.Condition.Bool["aws:SecureTransport"] if s.Sid == "DenyInsecureTransport"]) == "false"
    error_message = "TLS-only"
  }
}
