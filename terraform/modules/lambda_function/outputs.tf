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
  value       = merge({ for k, m in aws_lambda_event_source_mapping.sqs : k => m.uuid }, { for k, m in aws_lambda_event_source_mapping.stream : k => m.uuid })
}

output "alarm_names" {
  description = "Names of the Errors and Throttles alarms."
  value       = [aws_cloudwatch_metric_alarm.errors.alarm_name, aws_cloudwatch_metric_alarm.throttles.alarm_name]
}

output "stream_event_sources" {
  description = "Stream event source mappings as applied, by key: uuid, source, batching, bisect, retries, record age, on-failure destination, response types."
  value = {
    for k, m in aws_lambda_event_source_mapping.stream : k => {
      uuid                               = m.uuid
      event_source_arn                   = m.event_source_arn
      starting_position                  = m.starting_position
      batch_size                         = m.batch_size
      maximum_batching_window_in_seconds = m.maximum_batching_window_in_seconds
      bisect_batch_on_function_error     = m.bisect_batch_on_function_error
      maximum_retry_attempts             = m.maximum_retry_attempts
      maximum_record_age_in_seconds      = m.maximum_record_age_in_seconds
      on_failure_destination_arn         = try(m.destination_config[0].on_failure[0].destination_arn, null)
      function_response_types            = m.function_response_types
    }
  }
}
