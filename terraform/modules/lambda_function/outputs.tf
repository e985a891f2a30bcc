output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Function ARN (unqualified)."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "Invoke ARN (for API Gateway integrations)."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_name" {
  description = "Execution role name."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "policy" {
  description = "The role's inline policy document (JSON)."
  value       = local.policy
}

output "environment_variables" {
  description = "The function's environment variables (standard + specific)."
  value       = merge(var.environment_variables, local.standard_environment)
}

output "event_source_mapping_uuids" {
  description = "Event source mapping UUIDs by event source key."
  value       = { for k, m in aws_lambda_event_source_mapping.sqs : k => m.uuid }
}

output "alarm_names" {
  description = "Names of the Errors and Throttles alarms."
  value       = [aws_cloudwatch_metric_alarm.errors.alarm_name, aws_cloudwatch_metric_alarm.throttles.alarm_name]
}
