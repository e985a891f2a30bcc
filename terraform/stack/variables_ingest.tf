variable "ingest_function_timeout" {
  description = "Timeout of the ingest processor, seconds."
  type        = number
  default     = 30

  validation {
    condition     = var.ingest_function_timeout >= 1 && var.ingest_function_timeout <= 900
    error_message = "ingest_function_timeout must be between 1 and 900."
  }
}

variable "ingest_function_memory" {
  description = "Memory of the ingest processor, MB (CPU scales with it)."
  type        = number
  default     = 256
}

variable "ingest_reserved_concurrency" {
  description = "Reserved concurrency of the ingest processor; null = unreserved."
  type        = number
  default     = null
}

variable "ingest_batch_size" {
  description = "SQS records per invocation of the ingest processor (1-10, or up to 10000 with a batching window >= 1)."
  type        = number
  default     = 10
}

variable "ingest_batching_window_seconds" {
  description = "How long the SQS poller gathers records before invoking (0-300). 0 = invoke as soon as records arrive."
  type        = number
  default     = 0

  validation {
    condition     = var.ingest_batching_window_seconds >= 0 && var.ingest_batching_window_seconds <= 300
    error_message = "ingest_batching_window_seconds must be between 0 and 300."
  }
}

variable "ingest_maximum_concurrency" {
  description = "Cap on concurrent invocations from the ingest queue (2-1000); null = no cap."
  type        = number
  default     = null
}

variable "ingest_queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the ingest queue. null = 6 x the function timeout + the batching window (AWS guidance for Lambda event sources). Must be at least the function timeout."
  type        = number
  default     = null

  validation {
    condition     = var.ingest_queue_visibility_timeout_seconds == null || try(var.ingest_queue_visibility_timeout_seconds >= var.ingest_function_timeout && var.ingest_queue_visibility_timeout_seconds <= 43200, false)
    error_message = "ingest_queue_visibility_timeout_seconds must be between the function timeout and 43200 (Lambda refuses an SQS source whose visibility timeout is shorter than the function timeout)."
  }
}

variable "ingest_max_object_bytes" {
  description = "Largest landed object the ingest processor accepts (MAX_OBJECT_BYTES); larger ones are permanent failures."
  type        = number
  default     = 10485760

  validation {
    condition     = var.ingest_max_object_bytes >= 1
    error_message = "ingest_max_object_bytes must be positive."
  }
}

# --- alarms ------------------------------------------------------------------------------------------------------
