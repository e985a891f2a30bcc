variable "name" {
  description = "Queue name; the dead-letter queue is <name>-dlq."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,76}$", var.name))
    error_message = "name must be 1-76 characters of [A-Za-z0-9_-] (the DLQ adds -dlq; SQS allows 80). FIFO queues are not supported by this module."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key used for server-side encryption of both queues."
  type        = string

  validation {
    condition     = can(regex("^arn:", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN."
  }
}

variable "kms_data_key_reuse_period_seconds" {
  description = "How long SQS reuses a data key before calling KMS again (60-86400). Longer = fewer KMS calls."
  type        = number
  default     = 300

  validation {
    condition     = var.kms_data_key_reuse_period_seconds >= 60 && var.kms_data_key_reuse_period_seconds <= 86400
    error_message = "kms_data_key_reuse_period_seconds must be between 60 and 86400."
  }
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the queue. For a Lambda event source AWS recommends at least 6x the function timeout (plus the batching window)."
  type        = number
  default     = 30

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be between 0 and 43200 (12 hours)."
  }
}

variable "message_retention_seconds" {
  description = "Retention of the main queue (60 s - 14 days). Default 4 days, the SQS default."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600."
  }
}

variable "dlq_message_retention_seconds" {
  description = "Retention of the dead-letter queue. Default 14 days, the maximum: dead letters wait for a human."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600."
  }
}

variable "receive_wait_time_seconds" {
  description = "Default long-polling wait for ReceiveMessage calls that do not set one (0-20). Lambda event sources long-poll regardless."
  type        = number
  default     = 0

  validation {
    condition     = var.receive_wait_time_seconds >= 0 && var.receive_wait_time_seconds <= 20
    error_message = "receive_wait_time_seconds must be between 0 and 20."
  }
}

variable "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue (redrive policy maxReceiveCount)."
  type        = number
  default     = 3

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "allowed_service_principals" {
  description = <<-EOT
    Service principals allowed to send to the queue, each limited to the given source ARNs (aws:SourceArn) and
    to this account (aws:SourceAccount). Example: { service = "events.amazonaws.com", source_arns = [<rule ARN>] }.
    Build the ARNs from names where referencing the resource would create an ordering chain or a cycle.
    Empty list = no queue policy (only IAM principals of the account, through their IAM policies).
  EOT
  type = list(object({
    service     = string
    source_arns = list(string)
    actions     = optional(list(string), ["sqs:SendMessage"])
  }))
  default = []

  validation {
    condition     = alltrue([for p in var.allowed_service_principals : endswith(p.service, ".amazonaws.com") && length(p.source_arns) > 0])
    error_message = "each entry needs an AWS service principal (*.amazonaws.com) and at least one source ARN."
  }

  validation {
    condition     = alltrue(flatten([for p in var.allowed_service_principals : [for a in p.actions : startswith(a, "sqs:") && !strcontains(a, "*")]]))
    error_message = "actions must be explicit sqs: actions (no wildcards)."
  }

  validation {
    condition     = length(distinct([for p in var.allowed_service_principals : p.service])) == length(var.allowed_service_principals)
    error_message = "list each service once (put all its source ARNs in one entry)."
  }
}

variable "dlq_allowed_service_principals" {
  description = <<-EOT
    Same as allowed_service_principals, for the dead-letter queue. Use it when the queue is also the dead-letter
    target of an EventBridge target (events that could not be delivered): { service = "events.amazonaws.com",
    source_arns = [<rule ARN>] }. Empty list = no policy on the dead-letter queue.
  EOT
  type = list(object({
    service     = string
    source_arns = list(string)
    actions     = optional(list(string), ["sqs:SendMessage"])
  }))
  default = []

  validation {
    condition     = alltrue([for p in var.dlq_allowed_service_principals : endswith(p.service, ".amazonaws.com") && length(p.source_arns) > 0])
    error_message = "each entry needs an AWS service principal (*.amazonaws.com) and at least one source ARN."
  }

  validation {
    condition     = alltrue(flatten([for p in var.dlq_allowed_service_principals : [for a in p.actions : startswith(a, "sqs:") && !strcontains(a, "*")]]))
    error_message = "actions must be explicit sqs: actions (no wildcards)."
  }

  validation {
    condition     = length(distinct([for p in var.dlq_allowed_service_principals : p.service])) == length(var.dlq_allowed_service_principals)
    error_message = "list each service once (put all its source ARNs in one entry)."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic ARN for the dead-letter queue alarms (ALARM and OK). null = alarms without notifications."
  type        = string
  default     = null
}

variable "dlq_age_alarm_threshold_seconds" {
  description = "Alarm when the oldest message in the dead-letter queue is older than this."
  type        = number
  default     = 3600

  validation {
    condition     = var.dlq_age_alarm_threshold_seconds >= 60
    error_message = "dlq_age_alarm_threshold_seconds must be at least 60."
  }
}

variable "alarm_period_seconds" {
  description = "Period of the alarm metrics (SQS publishes every 60 s)."
  type        = number
  default     = 60

  validation {
    condition     = var.alarm_period_seconds >= 60 && var.alarm_period_seconds % 60 == 0
    error_message = "alarm_period_seconds must be a multiple of 60."
  }
}

variable "tags" {
  description = "Tags for the queues and alarms."
  type        = map(string)
  default     = {}
}
