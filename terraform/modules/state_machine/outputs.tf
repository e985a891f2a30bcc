output "arn" {
  description = "State machine ARN."
  value       = aws_sfn_state_machine.this.arn
}

output "name" {
  description = "State machine name."
  value       = aws_sfn_state_machine.this.name
}

output "role_arn" {
  description = "ARN of the machine's execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the machine's execution role."
  value       = aws_iam_role.this.name
}

output "policy" {
  description = "The execution role's policy (JSON): what the machine may call."
  value       = aws_iam_role_policy.this.policy
}

output "definition" {
  description = "The rendered ASL definition (JSON)."
  value       = local.definition
}

output "log_group_name" {
  description = "Log group of the executions."
  value       = aws_cloudwatch_log_group.this.name
}

output "alarm_name" {
  description = "Name of the failed-executions alarm."
  value       = aws_cloudwatch_metric_alarm.failed.alarm_name
}

output "start_role_arn" {
  description = "Role EventBridge rules assume to start this machine; null without eventbridge_rule_arns."
  value       = one(aws_iam_role.start[*].arn)
}
