variable "name" {
  description = "Topic name (by convention <prefix>-<purpose>, e.g. sluice-dev-alarms)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,256}$", var.name))
    error_message = "name must be 1-256 characters of [A-Za-z0-9_-] (standard topics only)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key for server-side encryption. Publishing services need kms:GenerateDataKey*/kms:Decrypt on it (see the kms_key module's service_principals)."
  type        = string

  validation {
    condition     = can(regex("^arn:", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN."
  }
}

variable "publishers" {
  description = <<-EOT
    Service principals allowed to publish, each limited to source ARNs (ArnLike, wildcards allowed) and to this
    account. Example: { service = "cloudwatch.amazonaws.com", source_arns = ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:sluice-dev-*"] }.
    Principals of the account publish through their IAM policies and need no entry.
  EOT
  type = list(object({
    service     = string
    source_arns = list(string)
  }))
  default = []

  validation {
    condition     = alltrue([for p in var.publishers : endswith(p.service, ".amazonaws.com") && length(p.source_arns) > 0])
    error_message = "each publisher needs an AWS service principal (*.amazonaws.com) and at least one source ARN."
  }

  validation {
    condition     = length(distinct([for p in var.publishers : p.service])) == length(var.publishers)
    error_message = "list each service once."
  }
}

variable "email_subscriptions" {
  description = "Email addresses to subscribe (each must confirm the subscription from the email AWS sends)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.email_subscriptions : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "email_subscriptions must be email addresses."
  }
}

variable "tags" {
  description = "Tags for the topic."
  type        = map(string)
  default     = {}
}
