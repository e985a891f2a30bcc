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
    metrics (the pipeline's own EMF metrics: name + service, the POWERTOOLS_SERVICE_NAME that emits it, + stat;
    `dimensions` names the extra dimensions a metric is counted with, e.g. ["code"]: the line is then the sum
    over their values, a SEARCH expression).
  EOT
  type = map(object({
    title          = optional(string)
    functions      = optional(list(string), [])
    queues         = optional(list(object({ name = string, dlq_name = string })), [])
    streams        = optional(list(string), [])
    state_machines = optional(list(string), [])
    apis           = optional(list(string), [])
    metrics = optional(list(object({
      name       = string
      service    = string
      stat       = optional(string, "Sum")
      dimensions = optional(list(string), [])
    })), [])
  }))

  validation {
    condition     = length(var.pipelines) > 0
    error_message = "A dashboard needs at least one pipeline."
  }
}

variable "alarm_arns" {
  description = "Alarms shown in the status widgets at the top, sorted, alarms_per_widget per widget (any number)."
  type        = list(string)
  default     = []
}

variable "alarms_per_widget" {
  description = "Alarms per status widget (CloudWatch shows at most 100 in one alarm widget); more alarms get more widgets."
  type        = number
  default     = 100

  validation {
    condition     = var.alarms_per_widget >= 1 && var.alarms_per_widget <= 100
    error_message = "An alarm status widget shows 1 to 100 alarms."
  }
}

variable "period_seconds" {
  description = "Period of every metric in the dashboard."
  type        = number
  default     = 60
}
