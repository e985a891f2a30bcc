output "daily_report_function_name" {
  description = "Daily report function name."
  value       = module.daily_report.function_name
}

output "daily_report_rule_name" {
  description = "Scheduled EventBridge rule (default bus) that starts the daily report."
  value       = one(module.daily_report_rules.rule_names)
}

output "daily_report_queue_url" {
  description = "Queue between the daily schedule and the report function (sluicectl daily-report --date puts replays here)."
  value       = module.daily_report_queue.url
}

output "daily_report_dlq_url" {
  description = "Dead-letter queue of the daily report."
  value       = module.daily_report_queue.dlq_url
}

output "daily_report_prefix" {
  description = "Where reports go in the output bucket: <prefix><YYYY-MM-DD>/report.json and by_category.csv."
  value       = local.batch.report_prefix
}
