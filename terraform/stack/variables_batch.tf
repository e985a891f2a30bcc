# --- scheduled batch: the daily report ----------------------------------------------------------------------------

variable "daily_report_schedule" {
  description = "Schedule of the daily report (EventBridge, UTC). It reports the day before each firing's scheduled time."
  type        = string
  default     = "cron(5 0 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.daily_report_schedule))
    error_message = "daily_report_schedule must be an EventBridge cron(...) or rate(...) expression."
  }
}

variable "daily_report_enabled" {
  description = "Whether the daily report's schedule is enabled (a replay with sluicectl daily-report --date works either way)."
  type        = bool
  default     = true
}

variable "daily_report_function_memory" {
  description = "Memory of the daily report function, MB."
  type        = number
  default     = 256
}

variable "daily_report_function_timeout" {
  description = "Timeout of the daily report function, seconds (its queue's visibility timeout is 6 times this)."
  type        = number
  default     = 300
}
