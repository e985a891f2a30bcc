variable "name" {
  description = "Function name (by convention <prefix>-<function folder with - for _>). Also names its role, log group and alarms."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters of [a-zA-Z0-9_-]."
  }
}

variable "service_name" {
  description = "Short name of the function for POWERTOOLS_SERVICE_NAME (logs, traces, metric dimension); null = name."
  type        = string
  default     = null
}

variable "environment" {
  description = "Environment name, exported as SLUICE_ENV (local, localstack, dev, prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be 1-16 characters of [a-z0-9-], starting with a letter."
  }
}

variable "description" {
  description = "Function description."
  type        = string
  default     = null
}

variable "handler" {
  description = "Handler string, \"<package>.handler.handler\" by the repo convention."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must look like module.path.function."
  }
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "python3.11"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.runtime))
    error_message = "runtime must be a python3.x runtime (the build targets Python)."
  }
}

variable "architectures" {
  description = "Instruction set architecture; must match how the zip's binary wheels were built."
  type        = list(string)
  default     = ["x86_64"]

  validation {
    condition     = length(var.architectures) == 1 && contains(["x86_64", "arm64"], var.architectures[0])
    error_message = "architectures must be [\"x86_64\"] or [\"arm64\"]."
  }
}

variable "package_path" {
  description = "Absolute path of the built function zip (scripts/build.py output)."
  type        = string

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must be a .zip file."
  }
}

variable "package_hash" {
  description = "Base64-encoded SHA-256 of the zip (manifest.json sha256_base64), used as source_code_hash: the code is redeployed only when it changes."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.package_hash))
    error_message = "package_hash must be a base64-encoded SHA-256 (44 characters ending in =)."
  }
}

variable "memory_size" {
  description = "Memory in MB (128-10240); CPU scales with it."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout in seconds (1-900)."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900."
  }
}

variable "layers" {
  description = "Layer version ARNs (at most 5)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.layers) <= 5
    error_message = "a function can use at most 5 layers."
  }
}

variable "environment_variables" {
  description = "Function-specific environment variables, merged with the standard ones (SLUICE_ENV, POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL), which cannot be overridden here."
  type        = map(string)
  default     = {}

  validation {
    # One line per test (checkov's HCL parser rejects an operator at the start of a line inside a for).
    condition = alltrue(concat(
      [for k in keys(var.environment_variables) : !contains(["SLUICE_ENV", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"], k)],
      [for k in keys(var.environment_variables) : !startswith(k, "AWS_") && can(regex("^[a-zA-Z][a-zA-Z0-9_]*$", k))],
    ))
    error_message = "environment variable names must be [a-zA-Z][a-zA-Z0-9_]*, not start with AWS_ (reserved by Lambda), and not be one of the standard variables the module sets."
  }
}

variable "log_level" {
  description = "POWERTOOLS_LOG_LEVEL."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group (a CloudWatch Logs allowed value)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key: encrypts the log group, and the function gets kms:Decrypt on it for its SQS event sources (unless a source names another key)."
  type        = string

  validation {
    condition     = can(regex("^arn:", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN."
  }
}

variable "policy_statements" {
  description = <<-EOT
    Least-privilege statements for the function's role (Allow only), added to the built-in ones (logs, X-Ray,
    event sources). Each: sid (alphanumeric, unique), actions (explicit, no "*" or "service:*"), resources, and
    optional conditions [{ test, variable, values }]. A "*" resource is refused unless wildcard_resource_reason
    says why AWS requires it for those actions.
  EOT
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
    wildcard_resource_reason = optional(string)
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", s.sid))]) && length(distinct([for s in var.policy_statements : s.sid])) == length(var.policy_statements)
    error_message = "each statement needs a unique alphanumeric sid."
  }

  validation {
    condition = alltrue(flatten([
      for s in var.policy_statements : [for a in s.actions : a != "*" && !endswith(a, ":*") && can(regex("^[a-z0-9-]+:[A-Za-z0-9*]+$", a))]
    ]))
    error_message = "actions must be explicit service:Action names (no \"*\" and no \"service:*\")."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : !contains(s.resources, "*") || s.wildcard_resource_reason != null])
    error_message = "a \"*\" resource needs wildcard_resource_reason (only where the actions do not support resource-level permissions)."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : length(s.actions) > 0 && length(s.resources) > 0])
    error_message = "each statement needs at least one action and one resource."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : !contains(["WriteLogs", "XRayTraces", "ConsumeEventSourceQueues", "DecryptEventSourceMessages", "ReadEventSourceStreams", "DecryptEventSourceStreams", "ReadEventSourceTableStreams", "SendOnFailureRecordsToQueues", "SendOnFailureRecordsToTopics", "EncryptOnFailureRecords"], s.sid)])
    error_message = "sids WriteLogs, XRayTraces, ConsumeEventSourceQueues, DecryptEventSourceMessages, ReadEventSourceStreams, DecryptEventSourceStreams, ReadEventSourceTableStreams, SendOnFailureRecordsToQueues, SendOnFailureRecordsToTopics and EncryptOnFailureRecords are reserved for the built-in statements."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; null = unreserved (account pool). 0 stops the function."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0, false)
    error_message = "reserved_concurrent_executions must be null or >= 0."
  }
}

variable "sqs_event_sources" {
  description = <<-EOT
    SQS queues that trigger the function, by a stable key. The module creates the event source mappings and
    grants sqs:ReceiveMessage/DeleteMessage/GetQueueAttributes/ChangeMessageVisibility on exactly these queues
    (and kms:Decrypt on their key through SQS). function_response_types defaults to ["ReportBatchItemFailures"]
    (partial batch responses); maximum_concurrency (2-1000) caps the pollers' concurrency for this source.
  EOT
  type = map(object({
    queue_arn                          = string
    batch_size                         = optional(number, 10)
    maximum_batching_window_in_seconds = optional(number, 0)
    maximum_concurrency                = optional(number)
    function_response_types            = optional(list(string), ["ReportBatchItemFailures"])
    enabled                            = optional(bool, true)
    kms_key_arn                        = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.sqs_event_sources) : s.batch_size >= 1 && s.batch_size <= 10000])
    error_message = "batch_size must be between 1 and 10000."
  }

  validation {
    condition     = alltrue([for s in values(var.sqs_event_sources) : s.maximum_batching_window_in_seconds >= 0 && s.maximum_batching_window_in_seconds <= 300])
    error_message = "maximum_batching_window_in_seconds must be between 0 and 300."
  }

  validation {
    condition     = alltrue([for s in values(var.sqs_event_sources) : s.batch_size <= 10 || s.maximum_batching_window_in_seconds >= 1])
    error_message = "SQS requires maximum_batching_window_in_seconds >= 1 when batch_size > 10."
  }

  validation {
    condition     = alltrue([for s in values(var.sqs_event_sources) : s.maximum_concurrency == null || try(s.maximum_concurrency >= 2 && s.maximum_concurrency <= 1000, false)])
    error_message = "maximum_concurrency must be null or between 2 and 1000."
  }

  validation {
    condition     = alltrue([for s in values(var.sqs_event_sources) : alltrue([for t in s.function_response_types : t == "ReportBatchItemFailures"])])
    error_message = "function_response_types may only contain ReportBatchItemFailures."
  }
}

variable "stream_event_sources" {
  description = <<-EOT
    Kinesis streams and DynamoDB streams that trigger the function, by a stable key (the ARN says which). The
    module creates the event source mappings and grants the poller's read permissions on exactly these streams
    (and kms:Decrypt through Kinesis on a Kinesis stream's key: kms_key_arn, default the function's key), and
    sqs:SendMessage / sns:Publish (+ kms:GenerateDataKey on on_failure_kms_key_arn) on the on-failure
    destination. Defaults: LATEST, batch 100, no window, bisect on error, 3 retries, records never too old,
    ReportBatchItemFailures. filter_patterns are event patterns (objects), each becomes one filter.
  EOT
  type = map(object({
    event_source_arn                   = string
    starting_position                  = optional(string, "LATEST")
    starting_position_timestamp        = optional(string)
    batch_size                         = optional(number, 100)
    maximum_batching_window_in_seconds = optional(number, 0)
    bisect_batch_on_function_error     = optional(bool, true)
    maximum_retry_attempts             = optional(number, 3)
    maximum_record_age_in_seconds      = optional(number, -1)
    parallelization_factor             = optional(number, 1)
    on_failure_destination_arn         = optional(string)
    on_failure_kms_key_arn             = optional(string)
    function_response_types            = optional(list(string), ["ReportBatchItemFailures"])
    filter_patterns                    = optional(list(any), [])
    enabled                            = optional(bool, true)
    kms_key_arn                        = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.stream_event_sources) : can(regex("^arn:[^:]+:(kinesis:[^:]+:[0-9]+:stream/|dynamodb:[^:]+:[0-9]+:table/[^/]+/stream/)", s.event_source_arn))])
    error_message = "event_source_arn must be a Kinesis stream ARN or a DynamoDB stream ARN."
  }

  validation {
    condition     = alltrue([for s in values(var.stream_event_sources) : contains(["LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"], s.starting_position)])
    error_message = "starting_position must be LATEST, TRIM_HORIZON or AT_TIMESTAMP."
  }

  validation {
    condition     = alltrue([for s in values(var.stream_event_sources) : (s.starting_position == "AT_TIMESTAMP") == (s.starting_position_timestamp != null)])
    error_message = "starting_position_timestamp is required with AT_TIMESTAMP, and only then."
  }

  validation {
    condition     = alltrue([for s in values(var.stream_event_sources) : s.batch_size >= 1 && s.batch_size <= 10000])
    error_message = "batch_size must be between 1 and 10000."
  }

  validation {
    condition     = alltrue([for s in values(var.stream_event_sources) : s.maximum_batching_window_in_seconds >= 0 && s.maximum_batching_window_in_seconds <= 300])
    error_message = "maximum_batching_window_in_seconds must be between 0 and 300."
  }

  validation {
    condition     = alltrue([for s in values(var.stream_event_sources) : s.maximum_retry_attempts >= -1 && s.maximum_retry_attempts <= 10000])
    error_message = "maximum_retry_attempts must be between -1 (until the records expire) and 10000."
  }

  validation {
    condition     = alltrue([for s in values(var.stream_event_sources) : s.maximum_record_age_in_seconds == -1 || (s.maximum_record_age_in_seconds >= 60 && s.maximum_record_age_in_seconds <= 604800)])
    error_message = "maximum_record_age_in_seconds must be -1 (never too old) or between 60 and 604800."
  }

  validation {
    condition     = alltrue([for s in values(var.stream_event_sources) : s.parallelization_factor >= 1 && s.parallelization_factor <= 10])
    error_message = "parallelization_factor must be between 1 and 10."
  }

  validation {
    condition     = alltrue([for s in values(var.stream_event_sources) : s.on_failure_destination_arn == null || can(regex("^arn:[^:]+:(sqs|sns):", coalesce(s.on_failure_destination_arn, "-")))])
    error_message = "on_failure_destination_arn must be an SQS queue or SNS topic ARN."
  }

  validation {
    condition     = alltrue([for s in values(var.stream_event_sources) : alltrue([for t in s.function_response_types : t == "ReportBatchItemFailures"])])
    error_message = "function_response_types may only contain ReportBatchItemFailures."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic ARN for the Errors and Throttles alarms (ALARM and OK); null = alarms without notifications."
  type        = string
  default     = null
}

variable "errors_alarm_threshold" {
  description = "Alarm when the function's Errors (sum over one period) exceed this."
  type        = number
  default     = 0
}

variable "throttles_alarm_threshold" {
  description = "Alarm when the function's Throttles (sum over one period) exceed this."
  type        = number
  default     = 0
}

variable "alarm_period_seconds" {
  description = "Period of the alarms."
  type        = number
  default     = 60

  validation {
    condition     = var.alarm_period_seconds >= 60 && var.alarm_period_seconds % 60 == 0
    error_message = "alarm_period_seconds must be a multiple of 60."
  }
}

variable "alarm_evaluation_periods" {
  description = "Consecutive breaching periods before the alarms fire."
  type        = number
  default     = 1

  validation {
    condition     = var.alarm_evaluation_periods >= 1
    error_message = "alarm_evaluation_periods must be at least 1."
  }
}

variable "tags" {
  description = "Tags for the function, role, log group and alarms."
  type        = map(string)
  default     = {}
}

variable "dead_letter_target_arn" {
  description = "SQS queue or SNS topic for events that asynchronous invocations (S3, SNS, EventBridge targets) fail to process after their retries; null for functions fed by event source mappings (their DLQ is the source's)."
  type        = string
  default     = null
}

variable "code_signing_config_arn" {
  description = "AWS Signer code signing configuration to enforce on deployments; null = none."
  type        = string
  default     = null
}
