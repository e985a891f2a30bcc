variable "name" {
  description = "Bucket name (by convention <prefix>-<account_id>-access-logs)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be a valid S3 bucket name."
  }
}

variable "account_id" {
  description = "Account whose buckets may deliver access logs here (aws:SourceAccount)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account id."
  }
}

variable "source_bucket_arns" {
  description = "ARNs (or ARN patterns) of the buckets allowed to deliver access logs here (aws:SourceArn)."
  type        = list(string)

  validation {
    condition     = length(var.source_bucket_arns) > 0 && alltrue([for a in var.source_bucket_arns : startswith(a, "arn:")])
    error_message = "source_bucket_arns must list at least one bucket ARN."
  }
}

variable "expiration_days" {
  description = "Days access logs are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.expiration_days >= 1
    error_message = "expiration_days must be >= 1."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a non-empty bucket (non-production environments)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
