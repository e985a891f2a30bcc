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
  value       = length(local.alarm_widget) + length(local.pipeline_widgets)
}
