variable "environment" {
  description = "Environment name (local, localstack, dev, prod, ...); every resource name starts with sluice-<environment>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be 1-16 characters of [a-z0-9-], starting with a letter."
  }
}

variable "artifacts_dir" {
  description = "Absolute path of the build output holding manifest.json and the zips (scripts/build.py: dist/ for the local target, dist/aws/ for AWS)."
  type        = string

  validation {
    condition = alltrue([
      for key in ["layers/shared", "functions/ingest_processor"] :
      can(jsondecode(file("${var.artifacts_dir}/manifest.json")).artifacts[key].path) &&
      can(regex("^[A-Za-z0-9+/]{43}=$", jsondecode(file("${var.artifacts_dir}/manifest.json")).artifacts[key].sha256_base64))
    ])
    error_message = "artifacts_dir must hold a manifest.json with artifacts layers/shared and functions/ingest_processor (path, sha256_base64): run `make build` (local) or `make build-aws` (dev/prod) first."
  }
}

variable "artifacts_target" {
  description = "Build target the environment expects in manifest.json (\"local\" or \"aws\"); null = any. A mismatch is reported as a warning (check block)."
  type        = string
  default     = null
}

variable "runtime" {
  description = "Lambda runtime of the functions and compatible runtime of the layer; must match the Python the artifacts were built for."
  type        = string
  default     = "python3.11"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.runtime))
    error_message = "runtime must be a python3.x runtime."
  }
}

variable "architecture" {
  description = "Lambda architecture; must match the platform the artifacts' binary wheels were built for."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups."
  type        = number
  default     = 30
}

variable "log_level" {
  description = "POWERTOOLS_LOG_LEVEL of the functions."
  type        = string
  default     = "INFO"
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the environment key is deleted after `terraform destroy` (7-30)."
  type        = number
  default     = 30
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` empty and delete the buckets. Only for throwaway environments."
  type        = bool
  default     = false
}

variable "table_deletion_protection" {
  description = "DynamoDB deletion protection on the tables."
  type        = bool
  default     = false
}

variable "point_in_time_recovery" {
  description = "Point-in-time recovery on the tables."
  type        = bool
  default     = true
}

variable "landing_expiration_days" {
  description = "Expire landed objects after this many days (they are processed within minutes); null = keep."
  type        = number
  default     = null
}

variable "output_noncurrent_version_expiration_days" {
  description = "Delete overwritten/deleted versions in the (versioned) output bucket after this many days; null = keep."
  type        = number
  default     = 90
}

# --- pipeline 1: ingest ------------------------------------------------------------------------------------------

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

variable "alarm_email" {
  description = "Email address subscribed to the alarm topic (must confirm); null = none."
  type        = string
  default     = null
}

variable "dlq_age_alarm_threshold_seconds" {
  description = "Alarm when the oldest dead letter is older than this (any dead letter alarms immediately as well)."
  type        = number
  default     = 3600
}

variable "lambda_errors_alarm_threshold" {
  description = "Alarm when a function's Errors per minute exceed this (handled record failures are not function errors)."
  type        = number
  default     = 0
}

variable "lambda_throttles_alarm_threshold" {
  description = "Alarm when a function's Throttles per minute exceed this."
  type        = number
  default     = 0
}

variable "alarm_evaluation_periods" {
  description = "Consecutive breaching minutes before the function alarms fire."
  type        = number
  default     = 1
}

variable "tags" {
  description = "Tags for every resource (on AWS prefer the provider's default_tags; these are added per resource)."
  type        = map(string)
  default     = {}
}
