variable "name" {
  description = "Dashboard name (one per environment, e.g. sluice-dev)."
  type        = string
}

variable "region" {
  description = "Region the metrics live in (every widget names it)."
  type        = string
}

variable "metrics_namespace" {
  description = "Namespace of the functions' EMF metrics (the lambda_function module sets POWERTOOLS_METRICS_NAMESPACE to it)."
  type        = string
  default     = "Sluice"
}

variable "pipelines" {
  description = <<-EOT
    One row of widgets per pipeline, in key order. Each pipeline lists what it is made of (all optional):
    functions (names; invocations, errors, throttles, duration p50/p99), queues (name + dlq_name; depth, age of
    the oldest message, DLQ depth), streams (Kinesis names; incoming records, iterator age), state_machines
    (ARNs; started, succeeded, failed, timed out), apis (HTTP API ids; requests, 4xx, 5xx, latency p99) and
    metrics (the pipeline's own EMF metrics: name + service, the POWERTOOLS_SERVICE_NAME that emits it).
  EOT
  type = map(object({
    title          = optional(string)
    functions      = optional(list(string), [])
    queues         = optional(list(object({ name = string, dlq_name = string })), [])
    streams        = optional(list(string), [])
    state_machines = optional(list(string), [])
    apis           = optional(list(string), [])
    metrics        = optional(list(object({ name = string, service = string, stat = optional(string, "Sum") })), [])
  }))

  validation {
    condition     = length(var.pipelines) > 0
    error_message = "A dashboard needs at least one pipeline."
  }
}

variable "alarm_arns" {
  description = "Alarms shown in the status widget at the top (up to 100, CloudWatch's limit for one widget)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.alarm_arns) <= 100
    error_message = "An alarm status widget shows at most 100 alarms."
  }
}

variable "period_seconds" {
  description = "Period of every metric in the dashboard."
  type        = number
  default     = 60
}
