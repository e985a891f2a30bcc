output "key_arn" {
  description = "ARN of the key (use it for kms_master_key_id / kms_key_arn / kms_key_id arguments)."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Key id."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "Alias name (alias/<name>)."
  value       = aws_kms_alias.this.name
}

output "alias_arn" {
  description = "Alias ARN."
  value       = aws_kms_alias.this.arn
}

output "policy" {
  description = "The key policy document (JSON)."
  value       = aws_kms_key.this.policy
}
