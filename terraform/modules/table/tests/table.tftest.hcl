mock_provider "aws" {}

variables {
  name        = "sluice-test-idempotency"
  hash_key    = { name = "id" }
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "defaults" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.this.billing_mode == "PAY_PER_REQUEST"
    error_message = "on-demand billing"
  }

  assert {
    condition     = aws_dynamodb_table.this.hash_key == "id" && aws_dynamodb_table.this.range_key == null
    error_message = "hash key only"
  }

  assert {
    condition     = aws_dynamodb_table.this.attribute == toset([{ name = "id", type = "S" }])
    error_message = "only key attributes are declared"
  }

  assert {
    condition     = one(aws_dynamodb_table.this.server_side_encryption).enabled && one(aws_dynamodb_table.this.server_side_encryption).kms_key_arn == var.kms_key_arn
    error_message = "SSE with the customer-managed key"
  }

  assert {
    condition     = one(aws_dynamodb_table.this.point_in_time_recovery).enabled
    error_message = "point-in-time recovery on by default"
  }

  assert {
    condition     = length(aws_dynamodb_table.this.ttl) == 0 && aws_dynamodb_table.this.stream_enabled == false
    error_message = "no TTL, no stream by default"
  }
}

run "range_key_ttl_stream" {
  command = plan

  variables {
    range_key        = { name = "item_id" }
    ttl_attribute    = "expiration"
    stream_view_type = "NEW_AND_OLD_IMAGES"
  }

  assert {
    condition     = aws_dynamodb_table.this.range_key == "item_id" && length(aws_dynamodb_table.this.attribute) == 2
    error_message = "sort key declared"
  }

  assert {
    condition     = one(aws_dynamodb_table.this.ttl).attribute_name == "expiration" && one(aws_dynamodb_table.this.ttl).enabled
    error_message = "TTL on the given attribute"
  }

  assert {
    condition     = aws_dynamodb_table.this.stream_enabled && aws_dynamodb_table.this.stream_view_type == "NEW_AND_OLD_IMAGES"
    error_message = "stream enabled"
  }
}

run "rejects_bad_key_type" {
  command = plan

  variables {
    hash_key = { name = "id", type = "X" }
  }

  expect_failures = [var.hash_key]
}

run "rejects_same_hash_and_range" {
  command = plan

  variables {
    range_key = { name = "id" }
  }

  expect_failures = [var.range_key]
}
