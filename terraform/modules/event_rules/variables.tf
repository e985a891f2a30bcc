variable "rules" {
  description = <<-EOT
    EventBridge rules as data: a map of rule name => rule. A new route is one entry.
      {
        event_bus_name      = optional(string, "default")
        description         = optional(string)
        event_pattern       = optional(object) # any HCL value; the module jsonencodes it (a JSON string is used as is)
        schedule_expression = optional(string) # "rate(5 minutes)" / "cron(...)", default bus only
        state               = optional(string, "ENABLED") # ENABLED | DISABLED | ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
        targets = optional(map(object({      # target id => target, at most 5
          arn                  = string
          role_arn             = optional(string) # needed for Step Functions, Kinesis, another bus, ...
          input                = optional(string) # constant JSON input
          input_path           = optional(string)
          input_transformer    = optional(object({ input_paths = optional(map(string)), input_template = string }))
          dead_letter_arn      = optional(string) # SQS queue for events that could not be delivered
          retry_policy         = optional(object({ maximum_event_age_in_seconds = optional(number), maximum_retry_attempts = optional(number) }))
          sqs_message_group_id = optional(string) # FIFO queue targets
        })), {})
      }
    The type is `any` because event patterns differ in shape from rule to rule (a typed map would force one
    shape); the validations below check the structure instead, including unknown attribute names (typos).
  EOT
  type        = any
  default     = {}

  validation {
    condition     = can(keys(var.rules)) && alltrue([for n in keys(var.rules) : can(regex("^[.\\-_A-Za-z0-9]{1,64}$", n))])
    error_message = "rules must be a map keyed by rule name (1-64 characters of [.-_A-Za-z0-9])."
  }

  validation {
    condition = alltrue([
      for n, r in var.rules : length(setsubtract(keys(r), [
        "event_bus_name", "description", "event_pattern", "schedule_expression", "state", "targets",
      ])) == 0
    ])
    error_message = "a rule may only have event_bus_name, description, event_pattern, schedule_expression, state and targets."
  }

  validation {
    condition     = alltrue([for n, r in var.rules : try(r.event_pattern, null) != null || try(r.schedule_expression, null) != null])
    error_message = "each rule needs an event_pattern or a schedule_expression."
  }

  validation {
    condition     = alltrue([for n, r in var.rules : contains(["ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"], try(r.state, "ENABLED"))])
    error_message = "state must be ENABLED, DISABLED or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS."
  }

  validation {
    condition = alltrue(flatten([
      for n, r in var.rules : [
        for id, t in lookup(r, "targets", {}) : can(regex("^[.\\-_A-Za-z0-9]{1,64}$", id)) && can(tostring(t.arn)) && length(setsubtract(keys(t), [
          "arn", "role_arn", "input", "input_path", "input_transformer", "dead_letter_arn", "retry_policy", "sqs_message_group_id",
        ])) == 0
      ]
    ]))
    error_message = "targets must be a map keyed by target id (1-64 characters of [.-_A-Za-z0-9]) of objects with an arn and only arn, role_arn, input, input_path, input_transformer, dead_letter_arn, retry_policy, sqs_message_group_id."
  }

  validation {
    condition     = alltrue([for n, r in var.rules : length(lookup(r, "targets", {})) <= 5])
    error_message = "EventBridge allows at most 5 targets per rule."
  }
}

variable "tags" {
  description = "Tags for the rules."
  type        = map(string)
  default     = {}
}
