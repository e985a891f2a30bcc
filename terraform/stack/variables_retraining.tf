# --- feedback and retraining --------------------------------------------------------------------------------------

variable "retraining_label_threshold" {
  description = "New feedback labels that start a retraining run (RetrainingRequested)."
  type        = number
  default     = 100

  validation {
    condition     = var.retraining_label_threshold >= 1
    error_message = "retraining_label_threshold must be at least 1."
  }
}

variable "retraining_schedule" {
  description = "Schedule of the periodic retraining (EventBridge, UTC); a run trains only if a new label arrived since the last one."
  type        = string
  default     = "cron(0 3 ? * SUN *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.retraining_schedule))
    error_message = "retraining_schedule must be an EventBridge cron(...) or rate(...) expression."
  }
}

variable "retraining_schedule_enabled" {
  description = "Whether the periodic retraining schedule is enabled (the label threshold works either way)."
  type        = bool
  default     = true
}

variable "retraining_estimator" {
  description = "Estimator of the challenger: svc (RBF SVM, calibrated) or logreg."
  type        = string
  default     = "svc"

  validation {
    condition     = contains(["svc", "logreg"], var.retraining_estimator)
    error_message = "retraining_estimator must be svc or logreg."
  }
}

variable "retraining_min_accuracy" {
  description = "A challenger under this held-out accuracy is refused even when there is no current model."
  type        = number
  default     = 0.9

  validation {
    condition     = var.retraining_min_accuracy >= 0 && var.retraining_min_accuracy <= 1
    error_message = "retraining_min_accuracy must be between 0 and 1."
  }
}

variable "retraining_holdout_every" {
  description = "1 in this many feedback labels (by the hash of the job id, for ever) joins the held-out set instead of the training set."
  type        = number
  default     = 5

  validation {
    condition     = var.retraining_holdout_every >= 2
    error_message = "retraining_holdout_every must be at least 2."
  }
}

variable "retraining_allow_test_switches" {
  description = "Honour RetrainingRequested options.corrupt_labels (trains on wrong labels, to prove a worse challenger is refused). Local environment only."
  type        = bool
  default     = false
}

variable "retrainer_memory" {
  description = "Memory of the model retrainer, MB (CPU grows with it: training is CPU-bound)."
  type        = number
  default     = 3008
}

variable "retrainer_timeout" {
  description = "Timeout of the model retrainer, seconds (its queue's visibility timeout is 6 times this)."
  type        = number
  default     = 600
}

variable "feedback_api_memory" {
  description = "Memory of the feedback API function, MB."
  type        = number
  default     = 256
}

variable "feedback_api_timeout" {
  description = "Timeout of the feedback API function, seconds (the integration waits at most 30 s)."
  type        = number
  default     = 10
}
