# --- pipeline 5: real-time fraud scoring ---------------------------------------------------------------------------

variable "stream_mode" {
  description = "Transactions stream capacity mode: PROVISIONED (stream_shard_count shards) or ON_DEMAND."
  type        = string
  default     = "PROVISIONED"
}

variable "stream_shard_count" {
  description = "Shards of the provisioned transactions stream: one scorer poller each (order is kept per shard, so per user)."
  type        = number
  default     = 2
}

variable "stream_retention_hours" {
  description = "How long transactions stay readable on the stream (24-8760 h)."
  type        = number
  default     = 24
}

variable "stream_iterator_age_alarm_threshold_ms" {
  description = "Alarm when the stream's consumers are this far behind (GetRecords.IteratorAgeMilliseconds, Maximum)."
  type        = number
  default     = 60000
}

variable "fraud_scorer_memory" {
  description = "Memory of the fraud scorer, MB (ONNX Runtime and numpy live in it)."
  type        = number
  default     = 1024
}

variable "fraud_scorer_timeout" {
  description = "Timeout of the fraud scorer, seconds."
  type        = number
  default     = 60
}

variable "fraud_scorer_reserved_concurrency" {
  description = "Reserved concurrency of the fraud scorer; null = unreserved (it needs one per shard and parallelization factor)."
  type        = number
  default     = null
}

variable "fraud_scorer_batch_size" {
  description = "Transactions per scorer invocation (1-10000): one BatchGetItem, one model run and a few BatchWriteItem calls per batch."
  type        = number
  default     = 100
}

variable "fraud_scorer_batching_window_seconds" {
  description = "How long the poller gathers transactions before invoking the scorer (0-300): bigger batches against alert latency."
  type        = number
  default     = 1

  validation {
    condition     = var.fraud_scorer_batching_window_seconds >= 0 && var.fraud_scorer_batching_window_seconds <= 300
    error_message = "fraud_scorer_batching_window_seconds must be between 0 and 300."
  }
}

variable "fraud_scorer_parallelization_factor" {
  description = "Batches of one shard the scorer runs at once (1-10); one user's transactions stay in order and in one batch at a time (partition key)."
  type        = number
  default     = 2

  validation {
    condition     = var.fraud_scorer_parallelization_factor >= 1 && var.fraud_scorer_parallelization_factor <= 10
    error_message = "fraud_scorer_parallelization_factor must be between 1 and 10."
  }
}

variable "fraud_scorer_maximum_retry_attempts" {
  description = "Retries of a failing batch (after bisecting it down to the failing record) before its on-failure record is sent and the shard moves on."
  type        = number
  default     = 2
}

variable "fraud_scorer_maximum_record_age_seconds" {
  description = "Transactions older than this are not retried (sent to the on-failure destination); -1 = never too old."
  type        = number
  default     = 3600
}

variable "fraud_audit_batching_window_seconds" {
  description = "How long the alerts-table stream poller gathers alerts before invoking the audit function (0-300)."
  type        = number
  default     = 1
}

variable "fraud_model_name" {
  description = "Fraud model the scorer serves: models/<name>/current.json in the model bucket (make fraud-model publishes it)."
  type        = string
  default     = "fraud"
}

variable "fraud_model_threshold" {
  description = "Model score (0-1) at or above which a transaction raises an alert (the model card's threshold: precision and recall on the held-out stream are measured there)."
  type        = number
  default     = 0.7

  validation {
    condition     = var.fraud_model_threshold > 0 && var.fraud_model_threshold <= 1
    error_message = "fraud_model_threshold must be in (0, 1]."
  }
}

variable "fraud_rule_amount" {
  description = "The seed's rule: an amount above this ..."
  type        = number
  default     = 5000
}

variable "fraud_rule_distance_miles" {
  description = "... more than this many miles (haversine) from the user's previous transaction ..."
  type        = number
  default     = 1000
}

variable "fraud_rule_window_seconds" {
  description = "... within this many seconds of it raises an alert."
  type        = number
  default     = 3600
}

variable "fraud_audit_noncurrent_version_expiration_days" {
  description = "Delete overwritten audit records this many days after they were replaced; null = keep."
  type        = number
  default     = 365
}
