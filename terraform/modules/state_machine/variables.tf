variable "name" {
  description = "State machine name (by convention <prefix>-<purpose>, e.g. sluice-dev-documents). Also names the role, log group and alarm."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,73}$", var.name))
    error_message = "name must be 1-73 characters of [A-Za-z0-9_-] (the role name adds a suffix within IAM's 64)."
  }
}

variable "type" {
  description = "STANDARD (exactly-once, execution history, up to a year) or EXPRESS (at-least-once, high rate, 5 minutes)."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "EXPRESS"], var.type)
    error_message = "type must be STANDARD or EXPRESS."
  }
}

variable "definition_file" {
  description = "Path of the ASL definition template (JSON), rendered with templatefile(). It receives `lambdas` (the lambda_functions map) and every definition_variables entry."
  type        = string

  validation {
    condition     = fileexists(var.definition_file)
    error_message = "definition_file must name an existing file."
  }
}

variable "definition_variables" {
  description = "Extra template variables for the definition (topic ARNs, table names, retry settings, ...). `lambdas` is reserved."
  type        = any
  default     = {}

  validation {
    condition     = !contains(keys(var.definition_variables), "lambdas")
    error_message = "definition_variables may not define `lambdas`: it is built from lambda_functions."
  }
}

variable "lambda_functions" {
  description = "Lambda functions the machine calls, short name => function ARN. Rendered into the definition as `lambdas` and the only functions the role may invoke."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for arn in values(var.lambda_functions) : can(regex("^arn:[^:]+:lambda:[^:]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", arn))])
    error_message = "lambda_functions values must be unqualified Lambda function ARNs."
  }
}

variable "publish_topic_arns" {
  description = "SNS topics the machine publishes to (arn:aws:states:::sns:publish)."
  type        = list(string)
  default     = []
}

variable "start_execution_arns" {
  description = "State machines this machine starts (arn:aws:states:::states:startExecution)."
  type        = list(string)
  default     = []
}

variable "sync_execution_arns" {
  description = "State machines this machine runs as nested workflows and waits for (arn:aws:states:::states:startExecution.sync and .sync:2): StartExecution on them, DescribeExecution and StopExecution on their executions, and the managed events rule AWS uses to follow them."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.sync_execution_arns : can(regex("^arn:[^:]+:states:[^:]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]+$", arn))])
    error_message = "sync_execution_arns must be state machine ARNs (arn:...:stateMachine:<name>)."
  }
}

variable "integration_kms_key_arns" {
  description = "KMS keys of encrypted integration targets (e.g. topics) other than kms_key_arn."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the machine's data (execution input, output, history) and its log group."
  type        = string

  validation {
    condition     = can(regex("^arn:", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN."
  }
}

variable "log_level" {
  description = "Execution logging: ALL, ERROR or FATAL (OFF is refused: logs are always on)."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be ALL, ERROR or FATAL."
  }
}

variable "log_execution_data" {
  description = "Include state input and output in the logs (may contain document data: off by default)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the log group, days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention values."
  }
}

variable "tracing_enabled" {
  description = "X-Ray tracing of executions."
  type        = bool
  default     = true
}

variable "eventbridge_rule_arns" {
  description = "EventBridge rules that start this machine: a role they may assume (output start_role_arn) is created with states:StartExecution on it."
  type        = list(string)
  default     = []
}

variable "alarm_topic_arn" {
  description = "SNS topic for the failed-executions alarm; null = the alarm has no action."
  type        = string
  default     = null
}

variable "failed_alarm_threshold" {
  description = "The alarm fires when more executions than this fail in one period."
  type        = number
  default     = 0
}

variable "alarm_period_seconds" {
  description = "Period of the alarm, seconds."
  type        = number
  default     = 300
}

variable "alarm_evaluation_periods" {
  description = "Periods the alarm evaluates."
  type        = number
  default     = 1

  validation {
    condition     = var.alarm_evaluation_periods >= 1
    error_message = "alarm_evaluation_periods must be at least 1."
  }
}

variable "tags" {
  description = "Tags for the state machine, roles, log group and alarm."
  type        = map(string)
  default     = {}
}
