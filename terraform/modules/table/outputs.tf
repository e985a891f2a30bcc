output "name" {
  description = "Table name."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "Table ARN."
  value       = aws_dynamodb_table.this.arn
}

output "stream_arn" {
  description = "Stream ARN (null when no stream)."
  value       = var.stream_view_type == null ? null : aws_dynamodb_table.this.stream_arn
}

output "hash_key" {
  description = "Partition key attribute name."
  value       = var.hash_key.name
}

output "range_key" {
  description = "Sort key attribute name (null when none)."
  value       = var.range_key == null ? null : var.range_key.name
}

output "server_side_encryption" {
  description = "Server-side encryption as applied: enabled, kms_key_arn."
  value = {
    enabled     = one(aws_dynamodb_table.this.server_side_encryption).enabled
    kms_key_arn = one(aws_dynamodb_table.this.server_side_encryption).kms_key_arn
  }
}

output "point_in_time_recovery" {
  description = "Whether point-in-time recovery is on."
  value       = one(aws_dynamodb_table.this.point_in_time_recovery).enabled
}
