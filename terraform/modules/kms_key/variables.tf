variable "name" {
  description = "Name of the key; the alias is alias/<name> (by convention the environment prefix, e.g. sluice-dev)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.name)) && !startswith(var.name, "aws/")
    error_message = "name must be 1-250 characters of [a-zA-Z0-9/_-] and must not start with aws/ (reserved)."
  }
}

variable "description" {
  description = "Description stored on the key."
  type        = string
  default     = "Customer-managed key for a sluice environment"
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled key deletion completes (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "rotation_period_in_days" {
  description = "Automatic rotation period (90-2560 days); null = the AWS default (365). Rotation is always on."
  type        = number
  default     = null

  validation {
    condition     = var.rotation_period_in_days == null || try(var.rotation_period_in_days >= 90 && var.rotation_period_in_days <= 2560, false)
    error_message = "rotation_period_in_days must be null or between 90 and 2560."
  }
}

variable "administrator_arns" {
  description = "Extra IAM principal ARNs allowed to administer (not use) the key. The account root is always an administrator, which delegates access control to IAM policies."
  type        = list(string)
  default     = []
}

variable "via_services" {
  description = "Services (endpoint names such as s3, sqs, sns, dynamodb, lambda) through which IAM principals of this account may use the key. Becomes a kms:ViaService condition."
  type        = list(string)
  default     = ["s3", "sqs", "sns", "dynamodb"]
}

variable "service_principals" {
  description = "Service principals (e.g. events.amazonaws.com for SQS/SNS targets, cloudwatch.amazonaws.com for alarms to an encrypted topic) allowed kms:GenerateDataKey* and kms:Decrypt, only on behalf of this account (aws:SourceAccount)."
  type        = list(string)
  default     = ["events.amazonaws.com", "cloudwatch.amazonaws.com", "sns.amazonaws.com", "s3.amazonaws.com"]

  validation {
    condition     = alltrue([for p in var.service_principals : endswith(p, ".amazonaws.com")])
    error_message = "service_principals must be AWS service principals (*.amazonaws.com)."
  }
}

variable "log_group_name_patterns" {
  description = "CloudWatch Logs group names (wildcards allowed) whose data the logs service may encrypt with this key; becomes an ArnLike condition on kms:EncryptionContext:aws:logs:arn. Empty list = no CloudWatch Logs access."
  type        = list(string)
  default     = ["*"]
}

variable "tags" {
  description = "Tags for the key."
  type        = map(string)
  default     = {}
}
