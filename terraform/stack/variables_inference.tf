# --- pipeline 3: async ML inference ------------------------------------------------------------------------------

variable "http_api_url_template" {
  description = "How clients reach an HTTP API outside AWS: a URL with {api_id} and {stage_path} (\"\" for $default, else /<stage>), e.g. http://127.0.0.1:4581/{api_id}{stage_path} for the local cloud. null = the stage's invoke URL (AWS)."
  type        = string
  default     = null

  validation {
    condition     = var.http_api_url_template == null || can(regex("\\{api_id\\}", var.http_api_url_template))
    error_message = "http_api_url_template must contain {api_id}."
  }
}

variable "inference_api_stage_name" {
  description = "Stage of the inference HTTP API (\"$default\": served at the root of the API's URL)."
  type        = string
  default     = "$default"
}

variable "inference_api_memory" {
  description = "Memory of the inference API function, MB."
  type        = number
  default     = 256
}

variable "inference_api_timeout" {
  description = "Timeout of the inference API function, seconds (the integration waits at most 30 s)."
  type        = number
  default     = 10
}

variable "inference_api_reserved_concurrency" {
  description = "Reserved concurrency of the inference API function; null = unreserved."
  type        = number
  default     = null
}

variable "inference_api_throttling_burst_limit" {
  description = "HTTP API throttling: burst (requests)."
  type        = number
  default     = 200
}

variable "inference_api_throttling_rate_limit" {
  description = "HTTP API throttling: steady rate (requests per second)."
  type        = number
  default     = 100
}

variable "inference_worker_memory" {
  description = "Memory of the inference worker, MB (CPU scales with it; ONNX Runtime, numpy and the model live in it)."
  type        = number
  default     = 1024
}

variable "inference_worker_timeout" {
  description = "Timeout of the inference worker, seconds (the queue's visibility timeout is 6x this + the batching window)."
  type        = number
  default     = 30

  validation {
    condition     = var.inference_worker_timeout >= 1 && var.inference_worker_timeout <= 900
    error_message = "inference_worker_timeout must be between 1 and 900."
  }
}

variable "inference_worker_reserved_concurrency" {
  description = "Reserved concurrency of the inference worker; null = unreserved."
  type        = number
  default     = null
}

variable "inference_batch_size" {
  description = "Images per invocation of the worker (1-10, or more with a batching window >= 1 s); one ONNX Runtime call per batch."
  type        = number
  default     = 10
}

variable "inference_batching_window_seconds" {
  description = "How long the SQS poller gathers images before invoking the worker (0-300): bigger batches against latency. 0 = at once."
  type        = number
  default     = 0

  validation {
    condition     = var.inference_batching_window_seconds >= 0 && var.inference_batching_window_seconds <= 300
    error_message = "inference_batching_window_seconds must be between 0 and 300."
  }
}

variable "inference_maximum_concurrency" {
  description = "Cap on concurrent worker invocations from the queue (2-1000); null = no cap."
  type        = number
  default     = null
}

variable "inference_model_name" {
  description = "Model the worker serves: models/<name>/current.json in the model bucket names its version."
  type        = string
  default     = "digits"
}

variable "inference_model_pointer_ttl_seconds" {
  description = "A warm worker re-reads the current-version pointer at most this often: a promotion is served within this many seconds, and between reads the warm path makes no S3 call."
  type        = number
  default     = 60

  validation {
    condition     = var.inference_model_pointer_ttl_seconds >= 0
    error_message = "inference_model_pointer_ttl_seconds must be >= 0."
  }
}

variable "inference_max_inline_bytes" {
  description = "Largest image POST /predictions accepts in the request body; larger ones ask for an upload URL (413 otherwise)."
  type        = number
  default     = 1048576

  validation {
    condition     = var.inference_max_inline_bytes >= 1 && var.inference_max_inline_bytes <= 4500000
    error_message = "inference_max_inline_bytes must be between 1 and 4500000 (base64-encoded it must fit Lambda's 6 MB request)."
  }
}

variable "inference_max_image_bytes" {
  description = "Largest image accepted at all (upload URLs are refused above it with 413; the worker fails larger uploads with too_large)."
  type        = number
  default     = 10485760
}

variable "inference_upload_url_expires_seconds" {
  description = "Lifetime of a presigned upload URL; a job not uploaded by then shows as expired."
  type        = number
  default     = 900
}

variable "inference_job_ttl_seconds" {
  description = "Jobs are deleted (DynamoDB TTL) this long after they were created."
  type        = number
  default     = 604800
}

variable "inference_input_expiration_days" {
  description = "Expire uploaded images after this many days; null = keep."
  type        = number
  default     = 7
}

variable "model_noncurrent_version_expiration_days" {
  description = "Delete overwritten model objects (pointer history) this many days after they were replaced; null = keep."
  type        = number
  default     = 365
}
