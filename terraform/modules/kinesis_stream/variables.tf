variable "name" {
  description = "Stream name (by convention <prefix>-<purpose>). Also names its alarms."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,128}$", var.name))
    error_message = "name must be 1-128 characters of [a-zA-Z0-9_.-]."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key for server-side encryption. Producers need kms:GenerateDataKey and consumers kms:Decrypt on it."
  type        = string

  validation {
    condition     = can(regex("^arn:", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN."
  }
}

variable "stream_mode" {
  description = "PROVISIONED (shard_count shards, 1 MB/s or 1,000 records/s of writes each) or ON_DEMAND (AWS scales the shards; pay per GB)."
  type        = string
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "ON_DEMAND"], var.stream_mode)
    error_message = "stream_mode must be PROVISIONED or ON_DEMAND."
  }
}

variable "shard_count" {
  description = "Shards of a PROVISIONED stream (ignored ON_DEMAND). Each shard is read by one Lambda poller: order holds per shard, so a partition key (e.g. the user) keeps its order."
  type        = number
  default     = 1

  validation {
    condition     = var.shard_count >= 1 && var.shard_count <= 500
    error_message = "shard_count must be between 1 and 500."
  }
}

variable "retention_hours" {
  description = "How long records stay readable (24-8760 hours). Consumers that fall further behind lose records."
  type        = number
  default     = 24

  validation {
    condition     = var.retention_hours >= 24 && var.retention_hours <= 8760
    error_message = "retention_hours must be between 24 and 8760."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic ARN for the alarms (ALARM and OK); null = alarms without notifications."
  type        = string
  default     = null
}

variable "iterator_age_alarm_threshold_ms" {
  description = "Alarm when GetRecords.IteratorAgeMilliseconds (Maximum over a period) exceeds this: the consumers are this far behind."
  type        = number
  default     = 60000

  validation {
    condition     = var.iterator_age_alarm_threshold_ms > 0
    error_message = "iterator_age_alarm_threshold_ms must be positive."
  }
}

variable "write_throttle_alarm_threshold" {
  description = "Alarm when WriteProvisionedThroughputExceeded (sum over a period) exceeds this."
  type        = number
  default     = 0
}

variable "alarm_period_seconds" {
  description = "Period of the alarms."
  type        = number
  default     = 60

  validation {
    condition     = var.alarm_period_seconds >= 60 && var.alarm_period_seconds % 60 == 0
    error_message = "alarm_period_seconds must be a multiple of 60."
  }
}

variable "alarm_evaluation_periods" {
  description = "Consecutive breaching periods before an alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.alarm_evaluation_periods >= 1
    error_message = "alarm_evaluation_periods must be at least 1."
  }
}

variable "tags" {
  description = "Tags for the stream and its alarms."
  type        = map(string)
  default     = {}
}
