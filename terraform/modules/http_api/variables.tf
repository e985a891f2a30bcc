variable "name" {
  description = "API name (by convention <prefix>-<purpose>-api). Also names the access log group /aws/vendedlogs/apigateway/<name>."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters of [a-zA-Z0-9_-]."
  }
}

variable "description" {
  description = "API description."
  type        = string
  default     = null
}

variable "lambda_integrations" {
  description = "Lambda proxy integrations (AWS_PROXY, payload format 2.0) by key: function_name and function_arn of the function, optional timeout_milliseconds (50-30000) and description. Routes refer to them by key."
  type = map(object({
    function_name        = string
    function_arn         = string
    timeout_milliseconds = optional(number, 30000)
    description          = optional(string)
  }))

  validation {
    condition     = alltrue([for i in values(var.lambda_integrations) : i.timeout_milliseconds >= 50 && i.timeout_milliseconds <= 30000])
    error_message = "timeout_milliseconds must be between 50 and 30000 (the HTTP API maximum)."
  }

  validation {
    condition     = alltrue([for i in values(var.lambda_integrations) : can(regex("^arn:[^:]+:lambda:", i.function_arn))])
    error_message = "function_arn must be a Lambda function ARN."
  }
}

variable "routes" {
  description = "Routes by route key (\"METHOD /path\", path variables as {name}, a greedy {proxy+} last, METHOD may be ANY; or \"$default\"), each with the key of its integration. Every route is authorized by var.authorizer unless it says public = true (an explicit, reviewable opt-out). Each route gets a Lambda permission for exactly its method and path."
  type = map(object({
    integration = string
    public      = optional(bool, false)
  }))

  validation {
    condition     = alltrue([for key in keys(var.routes) : key == "$default" || can(regex("^(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /[^ ]*$", key))])
    error_message = "route keys look like \"GET /items/{id}\" (method ANY, GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS) or \"$default\"."
  }

  validation {
    condition     = alltrue([for r in values(var.routes) : contains(keys(var.lambda_integrations), r.integration)])
    error_message = "every route's integration must be a key of lambda_integrations."
  }
}

variable "authorizer" {
  description = <<-EOT
    How non-public routes are authorized. type REQUEST: a Lambda authorizer (payload format 2.0, simple
    responses) given by function_name and invoke_arn (the function's invoke_arn attribute), fed the identity_sources (default the Authorization
    header) and cached result_ttl_seconds per identity (0 = no cache). type JWT: issuer and audience of an OIDC
    provider (e.g. a Cognito user pool). null is allowed only if every route is public.
  EOT
  type = object({
    type               = string
    function_name      = optional(string)
    invoke_arn         = optional(string)
    identity_sources   = optional(list(string), ["$request.header.Authorization"])
    result_ttl_seconds = optional(number, 300)
    issuer             = optional(string)
    audience           = optional(list(string), [])
  })
  default = null

  validation {
    condition     = var.authorizer == null || contains(["REQUEST", "JWT"], try(var.authorizer.type, ""))
    error_message = "authorizer.type must be REQUEST (a Lambda authorizer) or JWT."
  }

  validation {
    condition     = var.authorizer == null || try(var.authorizer.type, "") != "REQUEST" || can(regex("^arn:[^:]+:apigateway:[^:]+:lambda:path/2015-03-31/functions/arn:[^:]+:lambda:", var.authorizer.invoke_arn))
    error_message = "a REQUEST authorizer needs function_name and the function's invoke_arn."
  }

  validation {
    condition     = var.authorizer == null || try(var.authorizer.type, "") != "JWT" || (try(var.authorizer.issuer, null) != null && length(try(var.authorizer.audience, [])) > 0)
    error_message = "a JWT authorizer needs issuer and at least one audience."
  }

  validation {
    condition     = var.authorizer == null || try(var.authorizer.result_ttl_seconds, 0) >= 0 && try(var.authorizer.result_ttl_seconds, 0) <= 3600
    error_message = "authorizer.result_ttl_seconds must be between 0 and 3600."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic for the API's alarm (5xx responses over server_errors_alarm_threshold in a period); null = the alarm without notifications."
  type        = string
  default     = null
}

variable "server_errors_alarm_threshold" {
  description = "5xx responses per period (60 s) above which the alarm fires."
  type        = number
  default     = 0
}

variable "alarm_evaluation_periods" {
  description = "Periods (60 s) the 5xx alarm evaluates."
  type        = number
  default     = 1
}

variable "stage_name" {
  description = "Stage name; \"$default\" serves the API at the root of its endpoint (no stage in the path). The stage deploys automatically on every change."
  type        = string
  default     = "$default"

  validation {
    condition     = var.stage_name == "$default" || can(regex("^[a-zA-Z0-9_-]{1,128}$", var.stage_name))
    error_message = "stage_name must be \"$default\" or 1-128 characters of [a-zA-Z0-9_-]."
  }
}

variable "stage_variables" {
  description = "Stage variables (passed to integrations as stageVariables)."
  type        = map(string)
  default     = {}
}

variable "throttling_burst_limit" {
  description = "Default route throttling: burst (requests)."
  type        = number
  default     = 200
}

variable "throttling_rate_limit" {
  description = "Default route throttling: steady rate (requests per second)."
  type        = number
  default     = 100
}

variable "detailed_metrics_enabled" {
  description = "Per-route CloudWatch metrics."
  type        = bool
  default     = false
}

variable "cors" {
  description = "CORS configuration (allow_origins, allow_methods, allow_headers, expose_headers, max_age); null = no CORS."
  type = object({
    allow_origins  = list(string)
    allow_methods  = optional(list(string), ["GET", "POST"])
    allow_headers  = optional(list(string), ["content-type"])
    expose_headers = optional(list(string), ["location"])
    max_age        = optional(number, 300)
  })
  default = null
}

variable "log_retention_days" {
  description = "Retention of the access log group (a CloudWatch Logs allowed value)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key encrypting the access log group (its policy must let the logs service use it for /aws/vendedlogs/apigateway/<name>)."
  type        = string

  validation {
    condition     = can(regex("^arn:", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN."
  }
}

variable "tags" {
  description = "Tags for the API, its stage and its log group."
  type        = map(string)
  default     = {}
}
