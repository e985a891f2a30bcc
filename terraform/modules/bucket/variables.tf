variable "name" {
  description = "Bucket name (globally unique; by convention <prefix>-<account_id>-<purpose>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)) && !can(regex("\\.\\.", var.name))
    error_message = "name must be a valid S3 bucket name: 3-63 characters of a-z, 0-9, '.', '-', starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key for default encryption (SSE-KMS with an S3 bucket key)."
  type        = string

  validation {
    condition     = can(regex("^arn:", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN."
  }
}

variable "versioning_enabled" {
  description = "Keep object versions (recommended for outputs; recoverable overwrites and deletes)."
  type        = bool
  default     = false
}

variable "eventbridge_notifications" {
  description = "Send S3 event notifications (Object Created, ...) to the account's default EventBridge bus."
  type        = bool
  default     = false
}

variable "expiration_days" {
  description = "Expire current object versions this many days after creation; null = never."
  type        = number
  default     = null

  validation {
    condition     = var.expiration_days == null || try(var.expiration_days >= 1, false)
    error_message = "expiration_days must be null or >= 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "With versioning on, delete noncurrent versions this many days after they become noncurrent; null = never."
  type        = number
  default     = null

  validation {
    condition     = var.noncurrent_version_expiration_days == null || try(var.noncurrent_version_expiration_days >= 1, false)
    error_message = "noncurrent_version_expiration_days must be null or >= 1."
  }

  validation {
    condition     = var.noncurrent_version_expiration_days == null || var.versioning_enabled
    error_message = "noncurrent_version_expiration_days needs versioning_enabled = true."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete a non-empty bucket (objects and versions). Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}

variable "access_logging" {
  description = "Deliver S3 server access logs to access_log_bucket (a separate flag: count must be known at plan time, the log bucket's name may not be)."
  type        = bool
  default     = false
}

variable "access_log_bucket" {
  description = "Bucket receiving this bucket's S3 server access logs (modules/log_bucket), when access_logging is on."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null || try(length(var.access_log_bucket) > 0, true)
    error_message = "access_log_bucket must be a bucket name."
  }
}
