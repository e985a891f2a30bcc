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
  description = "Retention of the functions' log groups (environments set their own; a year unless they do)."
  type        = number
  default     = 365
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

variable "api_key_hashes" {
  description = "Initial API keys of the HTTP APIs as {client name: sha256 hex of the key}; afterwards keys are managed with `sluicectl api-key` (Terraform ignores the parameter's value). Empty = no key works until one is added."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for digest in values(var.api_key_hashes) : can(regex("^[0-9a-f]{64}$", digest))])
    error_message = "api_key_hashes values must be SHA-256 hex digests (64 lowercase hex digits), never keys."
  }
}

variable "api_keys_max_age_seconds" {
  description = "How long a warm authorizer keeps the key hashes before re-reading SSM (a revoked key stops working within this time, plus the API's cache)."
  type        = number
  default     = 60
}

variable "api_authorizer_cache_seconds" {
  description = "How long API Gateway caches an authorizer decision per Authorization header (0-3600; 0 = ask every time)."
  type        = number
  default     = 300
}

variable "api_server_errors_alarm_threshold" {
  description = "5xx responses per minute above which an HTTP API's alarm fires."
  type        = number
  default     = 0
}
