# The bucket S3 server access logs of the other buckets go to. It differs from modules/bucket on purpose:
# S3 log delivery cannot write to a bucket whose default encryption is SSE-KMS, so this one uses SSE-S3, and it
# does not log itself.
resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:This is the access-log target; logging it to itself would loop.
  #checkov:skip=CKV_AWS_145:S3 server access log delivery does not support SSE-KMS default encryption on the target; SSE-S3 is used.
  #checkov:skip=CKV_AWS_144:Access logs are an audit trail of this region's buckets; replicating them is a per-deployment DR decision.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to new log objects.
  #checkov:skip=CKV_AWS_21:Log objects are written once and expire; versioning adds nothing.
  bucket        = var.name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        # With ACLs disabled (BucketOwnerEnforced), log delivery is granted by policy, to our account's buckets only.
        Sid       = "AllowServerAccessLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.this.arn}/*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = var.account_id }
          ArnLike      = { "aws:SourceArn" = var.source_bucket_arns }
        }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.this]
}
