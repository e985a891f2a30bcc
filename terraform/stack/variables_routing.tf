# --- pipeline 2: fan-out routing -----------------------------------------------------------------------------------

variable "routing_routes" {
  description = <<-EOT
    Routes by data_type: one entry per type = one EventBridge rule on the domain bus (detail.data_type), one queue
    with its DLQ, one processor (functions/record_processor with DATA_TYPE = the key). Adding a type is one entry
    here, plus its contract (layers/shared/python/sluice/contracts/record_routed_<type>.schema.json) and its
    summariser (record_processor.logic.SUMMARIZERS); the contract tests check all three agree.
  EOT
  type = map(object({
    description         = string
    memory              = optional(number, 256)
    timeout             = optional(number, 30)
    batch_size          = optional(number, 10)
    maximum_concurrency = optional(number)
  }))
  default = {
    image   = { description = "Images by location, size and format -> geometry summary" }
    text    = { description = "Documents' text -> word, line and top-word counts" }
    tabular = { description = "Named columns and rows -> per-column statistics" }
  }

  validation {
    condition     = length(var.routing_routes) >= 1 && alltrue([for t in keys(var.routing_routes) : can(regex("^[a-z][a-z0-9_]{0,19}$", t))])
    error_message = "routing_routes needs at least one route, keyed by data types of 1-20 characters [a-z0-9_] starting with a letter (they name functions, queues and rules)."
  }

  validation {
    condition     = alltrue([for r in values(var.routing_routes) : r.timeout >= 1 && r.timeout <= 900 && r.batch_size >= 1 && r.batch_size <= 10])
    error_message = "each route needs a timeout of 1-900 s and a batch_size of 1-10."
  }
}

variable "routing_router_timeout" {
  description = "Timeout of the router, seconds (its queue's visibility timeout is 6x this plus the batching window)."
  type        = number
  default     = 30

  validation {
    condition     = var.routing_router_timeout >= 1 && var.routing_router_timeout <= 900
    error_message = "routing_router_timeout must be between 1 and 900."
  }
}

variable "routing_router_memory" {
  description = "Memory of the router, MB."
  type        = number
  default     = 256
}

variable "routing_router_batch_size" {
  description = "Router queue messages per router invocation (1-10, or up to 10000 with a batching window >= 1). Every record of the batch is published together, up to PutEvents' 10 entries per call."
  type        = number
  default     = 10
}

variable "routing_router_batching_window_seconds" {
  description = "How long the router's event source gathers messages before invoking (0-300); longer = fuller PutEvents batches, more latency."
  type        = number
  default     = 0

  validation {
    condition     = var.routing_router_batching_window_seconds >= 0 && var.routing_router_batching_window_seconds <= 300
    error_message = "routing_router_batching_window_seconds must be between 0 and 300."
  }
}

variable "routing_router_maximum_concurrency" {
  description = "Cap on concurrent router invocations from its queue (2-1000); null = no cap."
  type        = number
  default     = null
}

variable "routing_publish_batch_size" {
  description = "Entries per PutEvents call of the router (1-10). 1 is the per-record baseline the benchmark compares with."
  type        = number
  default     = 10

  validation {
    condition     = var.routing_publish_batch_size >= 1 && var.routing_publish_batch_size <= 10
    error_message = "routing_publish_batch_size must be between 1 and 10 (PutEvents takes at most 10 entries)."
  }
}

variable "routing_max_records_file_bytes" {
  description = "Largest records file (JSON lines under records/) the router reads; larger ones are permanent failures."
  type        = number
  default     = 10485760
}

variable "fanout_consumers" {
  description = <<-EOT
    Consumers of the S3 fan-out (objects created under uploads/), by name: each gets its own queue and DLQ, a
    target on the uploads rule (EventBridge allows 5 per rule) and a function (functions/fanout_consumer with
    CONSUMER = the key). A job is complete, and "Upload Processed" published, when every consumer listed here
    has finished the object.
  EOT
  type = map(object({
    description = string
    memory      = optional(number, 256)
    timeout     = optional(number, 30)
    batch_size  = optional(number, 10)
  }))
  default = {
    metadata = { description = "Format, content type, lines/columns/keys, image dimensions" }
    checksum = { description = "SHA-256, ETag check and content scan (EICAR signature, NUL bytes in text)" }
    preview  = { description = "A small JSON preview under previews/ in the output bucket" }
  }

  validation {
    condition     = length(var.fanout_consumers) >= 1 && length(var.fanout_consumers) <= 5 && alltrue([for c in keys(var.fanout_consumers) : contains(["metadata", "checksum", "preview"], c)])
    error_message = "fanout_consumers: 1-5 of metadata, checksum, preview (what functions/fanout_consumer implements; a rule has at most 5 targets)."
  }
}

variable "fanout_max_object_bytes" {
  description = "Largest upload the fan-out consumers read; larger ones are permanent failures."
  type        = number
  default     = 10485760
}
