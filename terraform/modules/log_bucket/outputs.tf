output "name" {
  description = "Bucket name; available once log delivery is allowed by the policy (so logging configured on it succeeds)."
  value       = aws_s3_bucket.this.id
  depends_on  = [aws_s3_bucket_policy.this]
}

output "arn" {
  description = "Bucket ARN."
  value       = aws_s3_bucket.this.arn
}

output "encryption" {
  description = "Default encryption as applied (SSE-S3: log delivery cannot use SSE-KMS)."
  value       = one(aws_s3_bucket_server_side_encryption_configuration.this.rule[*].apply_server_side_encryption_by_default[0].sse_algorithm)
}
