variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "allowed_account_ids" {
  description = "AWS account ids this environment may be applied to (provider allowed_account_ids). Set it; empty = no check."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.allowed_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "allowed_account_ids must be 12-digit account ids."
  }
}

variable "artifacts_dir" {
  description = "Build output holding manifest.json (make build-aws: scripts/build.py --target aws). null = <repo>/dist/aws."
  type        = string
  default     = null
}

variable "runtime" {
  description = "Lambda runtime; must match the Python the artifacts were built for (manifest.json python)."
  type        = string
  default     = "python3.12"
}

variable "alarm_email" {
  description = "Email address subscribed to the alarm topic (must confirm); null = none."
  type        = string
  default     = null
}

variable "log_level" {
  description = "POWERTOOLS_LOG_LEVEL of the functions."
  type        = string
  default     = "INFO"
}

variable "ingest_function_timeout" {
  description = "Timeout of the ingest processor, seconds (the queue's visibility timeout follows, 6x + batching window)."
  type        = number
  default     = 30
}

variable "ingest_function_memory" {
  description = "Memory of the ingest processor, MB."
  type        = number
  default     = 256
}

variable "ingest_batching_window_seconds" {
  description = "Batching window of the ingest event source, seconds."
  type        = number
  default     = 0
}

variable "ingest_maximum_concurrency" {
  description = "Cap on concurrent ingest invocations from the queue (2-1000); null = no cap."
  type        = number
  default     = null
}

variable "ingest_reserved_concurrency" {
  description = "Reserved concurrency of the ingest processor; null = unreserved."
  type        = number
  default     = null
}

variable "tags" {
  description = "Extra tags for every resource (provider default_tags); Project, Environment and ManagedBy are always set."
  type        = map(string)
  default     = {}
}
