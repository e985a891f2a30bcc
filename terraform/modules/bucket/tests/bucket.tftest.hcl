mock_provider "aws" {
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::sluice-test-123456789012-landing" }
  }
}

variables {
  name        = "sluice-test-123456789012-landing"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "secure_defaults" {
  command = plan

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
    condition     = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled"
  }

  assert {
    condition = one([
      for r in aws_s3_bucket_server_side_encryption_configuration.this.rule : one(r.apply_server_side_encryption_by_default).sse_algorithm
    ]) == "aws:kms"
    error_message = "default encryption is SSE-KMS"
  }

  assert {
    condition = one([
      for r in aws_s3_bucket_server_side_encryption_configuration.this.rule : one(r.apply_server_side_encryption_by_default).kms_master_key_id
    ]) == var.kms_key_arn
    error_message = "default encryption uses the given key"
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    error_message = "the S3 bucket key must be on"
  }

  assert {
    condition     = length(aws_s3_bucket_notification.this) == 0 && length(aws_s3_bucket_lifecycle_configuration.this) == 0 && length(aws_s3_bucket_versioning.this) == 0
    error_message = "optional features are off by default"
  }

  assert {
    condition     = aws_s3_bucket.this.force_destroy == false
    error_message = "force_destroy is off by default"
  }
}

run "tls_only_policy" {
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Effect == "Deny"
    error_message = "the policy denies"
  }

  assert {
    condition     = jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false"
    error_message = "requests without TLS"
  }

  assert {
    condition = toset(jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Resource) == toset([
      "arn:aws:s3:::sluice-test-123456789012-landing", "arn:aws:s3:::sluice-test-123456789012-landing/*",
    ])
    error_message = "on the bucket and its objects"
  }
}

run "optional_features" {
  command = plan

  variables {
    versioning_enabled                 = true
    eventbridge_notifications          = true
    expiration_days                    = 30
    noncurrent_version_expiration_days = 7
  }

  assert {
    condition     = aws_s3_bucket_notification.this[0].eventbridge == true
    error_message = "notifications go to EventBridge"
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.this[0].versioning_configuration).status == "Enabled"
    error_message = "versioning enabled"
  }

  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this[0].rule).expiration).days == 30
    error_message = "current versions expire"
  }

  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.this[0].rule).noncurrent_version_expiration).noncurrent_days == 7
    error_message = "noncurrent versions expire"
  }
}

run "noncurrent_expiry_needs_versioning" {
  command = plan

  variables {
    noncurrent_version_expiration_days = 7
  }

  expect_failures = [var.noncurrent_version_expiration_days]
}

run "rejects_invalid_name" {
  command = plan

  variables {
    name = "Sluice_Bad"
  }

  expect_failures = [var.name]
}
