variable "event_archive_retention_days" {
  description = "Days each bus's EventBridge archive keeps events for replays (0 = indefinitely)."
  type        = number
  default     = 7

  validation {
    condition     = var.event_archive_retention_days >= 0 && floor(var.event_archive_retention_days) == var.event_archive_retention_days
    error_message = "event_archive_retention_days must be a whole number of days, 0 or more (0 keeps events indefinitely)."
  }
}

variable "dashboard_period_seconds" {
  description = "Period of every metric of the environment's dashboard."
  type        = number
  default     = 60
}
