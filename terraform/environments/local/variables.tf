variable "endpoint" {
  description = "Endpoint of the embedded local cloud (python -m localcloud up; port from LOCALCLOUD_PORT)."
  type        = string
  default     = "http://127.0.0.1:4580"

  validation {
    condition     = can(regex("^https?://[^/]+$", var.endpoint))
    error_message = "endpoint must be a URL like http://127.0.0.1:4580 (no path)."
  }
}

variable "artifacts_dir" {
  description = "Build output holding manifest.json (scripts/build.py --target local). null = <repo>/dist."
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

variable "api_endpoint" {
  description = "Where the local cloud serves HTTP APIs (its API port: LOCALCLOUD_API_PORT, default LOCALCLOUD_PORT + 1)."
  type        = string
  default     = "http://127.0.0.1:4581"

  validation {
    condition     = can(regex("^https?://[^/]+$", var.api_endpoint))
    error_message = "api_endpoint must be a URL like http://127.0.0.1:4581 (no path)."
  }
}

variable "inference_model_pointer_ttl_seconds" {
  description = "How often a warm inference worker re-reads the model pointer (a promotion is served within this many seconds)."
  type        = number
  default     = 5
}

variable "inference_batching_window_seconds" {
  description = "Batching window of the inference event source (0 = invoke as soon as images arrive)."
  type        = number
  default     = 0
}
