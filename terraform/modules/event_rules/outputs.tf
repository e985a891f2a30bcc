output "rule_names" {
  description = "Rule names."
  value       = [for r in aws_cloudwatch_event_rule.this : r.name]
}

output "rule_arns" {
  description = "Rule ARNs by rule name."
  value       = { for name, r in aws_cloudwatch_event_rule.this : name => r.arn }
}

output "event_patterns" {
  description = "Encoded event patterns by rule name (null for schedules)."
  value       = { for name, r in local.rules : name => r.event_pattern }
}

output "targets" {
  description = "Targets by \"<rule>/<target id>\": rule, target id and target ARN."
  value       = { for k, t in aws_cloudwatch_event_target.this : k => { rule = t.rule, target_id = t.target_id, arn = t.arn } }
}
