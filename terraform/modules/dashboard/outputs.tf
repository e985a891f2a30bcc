output "name" {
  description = "Dashboard name."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "arn" {
  description = "Dashboard ARN."
  value       = aws_cloudwatch_dashboard.this.dashboard_arn
}

output "widget_count" {
  description = "Number of widgets (alarm status, pipeline titles and metric widgets)."
  value       = length(local.alarm_widgets) + length(local.pipeline_widgets)
}

output "alarm_widget_count" {
  description = "Number of alarm status widgets (one per alarms_per_widget alarms)."
  value       = length(local.alarm_widgets)
}

output "alarm_arns" {
  description = "Alarms the status widgets show, read back from the dashboard body (every widget together)."
  value       = flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.alarms if w.type == "alarm"])
}
