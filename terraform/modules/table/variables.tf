variable "name" {
  description = "Table name (by convention <prefix>-<purpose>)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.name))
    error_message = "name must be 3-255 characters of [a-zA-Z0-9_.-]."
  }
}

variable "hash_key" {
  description = "Partition key: attribute name and type (S, N or B)."
  type = object({
    name = string
    type = optional(string, "S")
  })

  validation {
    condition     = contains(["S", "N", "B"], var.hash_key.type)
    error_message = "hash_key.type must be S, N or B."
  }
}

variable "range_key" {
  description = "Optional sort key: attribute name and type (S, N or B)."
  type = object({
    name = string
    type = optional(string, "S")
  })
  default = null

  validation {
    condition     = var.range_key == null || contains(["S", "N", "B"], try(var.range_key.type, ""))
    error_message = "range_key.type must be S, N or B."
  }

  validation {
    condition     = var.range_key == null || try(var.range_key.name != var.hash_key.name, false)
    error_message = "range_key and hash_key must be different attributes."
  }
}

variable "ttl_attribute" {
  description = "Attribute holding an epoch-seconds expiry (items are deleted after it); null = no TTL."
  type        = string
  default     = null
}

variable "stream_view_type" {
  description = "Enable a DynamoDB stream with this view type (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES); null = no stream."
  type        = string
  default     = null

  validation {
    condition     = var.stream_view_type == null || contains(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"], coalesce(var.stream_view_type, "-"))
    error_message = "stream_view_type must be null, KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key for server-side encryption."
  type        = string

  validation {
    condition     = can(regex("^arn:", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN."
  }
}

variable "point_in_time_recovery" {
  description = "Continuous backups with point-in-time recovery (35 days)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse DeleteTable (terraform destroy fails until turned off). Turn on for production data."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the table."
  type        = map(string)
  default     = {}
}
