output "event_archives" {
  description = "EventBridge archive of each bus by short name (default, domain): name, ARN, bus and retention, as applied."
  value = {
    for k, a in aws_cloudwatch_event_archive.bus : k => {
      name             = a.name
      arn              = a.arn
      event_source_arn = a.event_source_arn
      bus_name         = local.event_buses[k].name
      retention_days   = a.retention_days
    }
  }
}

output "dashboard_name" {
  description = "The environment's CloudWatch dashboard."
  value       = module.dashboard.name
}

output "dashboard_alarm_arns" {
  description = "Alarms shown in the dashboard's status widgets, read back from the dashboard body (every alarm of the stack)."
  value       = module.dashboard.alarm_arns
}
