variable "endpoint" {
  description = "LocalStack edge endpoint (docker compose; LOCALSTACK_HOST)."
  type        = string
  default     = "http://localhost:4566"

  validation {
    condition     = can(regex("^https?://[^/]+$", var.endpoint))
    error_message = "endpoint must be a URL like http://localhost:4566 (no path)."
  }
}

variable "artifacts_dir" {
  description = "Build output holding manifest.json (scripts/build.py --target aws: LocalStack runs functions in the AWS Lambda images). null = <repo>/dist/aws."
  type        = string
  default     = null
}

variable "log_level" {
  description = "POWERTOOLS_LOG_LEVEL of the functions."
  type        = string
  default     = "INFO"
}

variable "ingest_batching_window_seconds" {
  description = "Batching window of the ingest event source (0 = invoke as soon as messages arrive)."
  type        = number
  default     = 0
}

variable "ingest_function_timeout" {
  description = "Timeout of the ingest processor, seconds (the queue's visibility timeout follows, 6x)."
  type        = number
  default     = 30
}
