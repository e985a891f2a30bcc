variable "documents_prefix" {
  description = "Key prefix of the landing bucket whose PDF and text objects start the document workflow."
  type        = string
  default     = "documents/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.documents_prefix))
    error_message = "documents_prefix must be a key prefix ending with /, e.g. documents/."
  }
}

variable "documents_max_bytes" {
  description = "Largest document the workflow accepts (MAX_DOCUMENT_BYTES); larger ones fail with object_too_large."
  type        = number
  default     = 5242880

  validation {
    condition     = var.documents_max_bytes >= 1
    error_message = "documents_max_bytes must be positive."
  }
}

variable "documents_max_pages" {
  description = "Most PDF pages the workflow extracts (MAX_DOCUMENT_PAGES); longer PDFs fail with too_many_pages."
  type        = number
  default     = 50

  validation {
    condition     = var.documents_max_pages >= 1
    error_message = "documents_max_pages must be positive."
  }
}

variable "documents_function_timeout" {
  description = "Timeout of each document step (and ETL step) function, seconds."
  type        = number
  default     = 60

  validation {
    condition     = var.documents_function_timeout >= 1 && var.documents_function_timeout <= 900
    error_message = "documents_function_timeout must be between 1 and 900."
  }
}

variable "documents_extract_memory" {
  description = "Memory of the extract and summarize functions, MB (PDF parsing and TextRank are CPU-bound; CPU scales with memory)."
  type        = number
  default     = 1024
}

variable "documents_workflow_timeout_seconds" {
  description = "TimeoutSeconds of a document workflow execution (then States.Timeout)."
  type        = number
  default     = 900
}

variable "workflow_retry_interval_seconds" {
  description = "Retry of every workflow task on transient errors: seconds before the first retry (seed: 1)."
  type        = number
  default     = 1
}

variable "workflow_retry_max_attempts" {
  description = "Retry of every workflow task on transient errors: retries after the first attempt (seed: 3)."
  type        = number
  default     = 3

  validation {
    condition     = var.workflow_retry_max_attempts >= 0 && var.workflow_retry_max_attempts <= 99999999
    error_message = "workflow_retry_max_attempts must be between 0 and 99999999."
  }
}

variable "workflow_retry_backoff_rate" {
  description = "Retry of every workflow task on transient errors: multiplier of the interval per retry (seed: 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.workflow_retry_backoff_rate >= 1
    error_message = "workflow_retry_backoff_rate must be at least 1."
  }
}

variable "workflow_log_level" {
  description = "Execution logging of the workflows: ALL, ERROR or FATAL."
  type        = string
  default     = "ALL"
}
