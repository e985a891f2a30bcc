output "arn" {
  description = "ARN of this layer version (what a function's layers list takes)."
  value       = aws_lambda_layer_version.this.arn
}

output "layer_arn" {
  description = "ARN of the layer without the version."
  value       = aws_lambda_layer_version.this.layer_arn
}

output "version" {
  description = "Layer version number."
  value       = aws_lambda_layer_version.this.version
}

output "name" {
  description = "Layer name."
  value       = aws_lambda_layer_version.this.layer_name
}
