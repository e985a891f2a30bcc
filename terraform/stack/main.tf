# The whole system as one module: composes the concern modules. No provider block: environments configure the
# provider (local cloud, LocalStack or AWS) and the backend, and set values.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  prefix     = "sluice-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  tags       = merge({ Project = "sluice", Environment = var.environment }, var.tags)

  artifacts_dir = abspath(var.artifacts_dir)
  manifest      = jsondecode(file("${local.artifacts_dir}/manifest.json"))
  artifacts     = local.manifest.artifacts

  # The contract (docs/architecture.md): transient failures are retried by the event source and dead-lettered
  # after 3 receives.
  max_receive_count = 3

  names = {
    landing_bucket    = "${local.prefix}-${local.account_id}-landing"
    output_bucket     = "${local.prefix}-${local.account_id}-output"
    idempotency_table = "${local.prefix}-idempotency"
    failures_table    = "${local.prefix}-failures"
    results_table     = "${local.prefix}-ingest-results"
    ingest_queue      = "${local.prefix}-ingest"
    ingest_rule       = "${local.prefix}-ingest-object-created"
    ingest_function   = "${local.prefix}-ingest-processor"
    shared_layer      = "${local.prefix}-shared"
    alarm_topic       = "${local.prefix}-alarms"
  }

  # Built from names, not resource references: the queue policy must name the rule that targets the queue, and
  # referencing the rule would make the queue wait for it (the rule's target already waits for the queue).
  ingest_rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.names.ingest_rule}"

  incoming_prefix  = "incoming/"
  processed_prefix = "processed/"

  ingest_visibility_timeout = coalesce(
    var.ingest_queue_visibility_timeout_seconds,
    6 * var.ingest_function_timeout + var.ingest_batching_window_seconds,
  )
}

# Every queue, bucket and table of the stack, by purpose. A new one is added here too: the `queues`, `buckets`
# and `tables` outputs (and the environments' tests, which check encryption, DLQs and alarms on all of them)
# are built from these maps.
locals {
  queues = merge({
    ingest       = module.ingest_queue
    inference    = module.inference_queue
    daily_report = module.daily_report_queue
    retraining   = module.retraining_queue
    # pipeline 4's failed starts (documents.tf)
    documents_start = module.documents_start_queue
    # pipeline 4's failure records of executions that ended without succeeding (documents.tf)
    documents_ended = module.documents_ended_queue
  }, local.routing_queues, local.stream_queues)
  buckets = merge({
    landing          = module.landing_bucket
    output           = module.output_bucket
    inference_inputs = module.inference_inputs_bucket
    models           = module.model_bucket
    feedback         = module.feedback_bucket
  }, local.stream_buckets)
  tables = merge({
    idempotency      = module.idempotency_table
    failures         = module.failures_table
    ingest_results   = module.ingest_results_table
    predictions      = module.predictions_table
    document_results = module.documents_results_table
    feedback         = module.feedback_table
  }, local.routing_tables, local.stream_tables)
}

check "artifacts_match_runtime" {
  assert {
    condition     = try(local.manifest.python, null) == null || "python${try(local.manifest.python, "")}" == var.runtime
    error_message = "manifest.json says the artifacts were built for Python ${try(local.manifest.python, "?")}, but the functions run ${var.runtime}: binary wheels may not load. Rebuild (scripts/build.py --python-version) or set var.runtime."
  }

  assert {
    condition     = var.artifacts_target == null || try(local.manifest.target, null) == var.artifacts_target
    error_message = "manifest.json target is ${try(local.manifest.target, "missing")}, this environment expects ${coalesce(var.artifacts_target, "any")}: build with `scripts/build.py --target ${coalesce(var.artifacts_target, "local")}`."
  }
}

# --- shared -----------------------------------------------------------------------------------------------------

module "kms" {
  source = "../modules/kms_key"

  name                    = local.prefix
  description             = "sluice ${var.environment}: buckets, queues, topics, tables and log groups"
  deletion_window_in_days = var.kms_deletion_window_days
  log_group_name_patterns = ["/aws/lambda/${local.prefix}-*", "/aws/vendedlogs/states/${local.prefix}-*", "/aws/vendedlogs/apigateway/${local.prefix}-*"]
  tags                    = local.tags
}

module "alarm_topic" {
  source = "../modules/topic"

  name        = local.names.alarm_topic
  kms_key_arn = module.kms.key_arn
  publishers = [
    {
      service     = "cloudwatch.amazonaws.com"
      source_arns = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.prefix}-*"]
    },
  ]
  email_subscriptions = var.alarm_email == null ? [] : [var.alarm_email]
  tags                = local.tags
}

module "shared_layer" {
  source = "../modules/lambda_layer"

  name                     = local.names.shared_layer
  description              = "sluice shared package (settings, observability, clients, errors, batch, failures, contracts)"
  package_path             = "${local.artifacts_dir}/${local.artifacts["layers/shared"].path}"
  package_hash             = local.artifacts["layers/shared"].sha256_base64
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
}

module "idempotency_table" {
  source = "../modules/table"

  name                   = local.names.idempotency_table
  hash_key               = { name = "id" }
  ttl_attribute          = "expiration"
  kms_key_arn            = module.kms.key_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.table_deletion_protection
  tags                   = local.tags
}

module "failures_table" {
  source = "../modules/table"

  name                   = local.names.failures_table
  hash_key               = { name = "pipeline" }
  range_key              = { name = "item_id" }
  kms_key_arn            = module.kms.key_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.table_deletion_protection
  tags                   = local.tags
}

# S3 server access logs of every bucket (an audit trail of who read and wrote what).
module "access_logs" {
  source = "../modules/log_bucket"

  name               = "${local.prefix}-${local.account_id}-access-logs"
  account_id         = local.account_id
  source_bucket_arns = ["arn:${local.partition}:s3:::${local.prefix}-${local.account_id}-*"]
  force_destroy      = var.force_destroy_buckets
  tags               = local.tags
}

module "landing_bucket" {
  source = "../modules/bucket"

  name                      = local.names.landing_bucket
  kms_key_arn               = module.kms.key_arn
  eventbridge_notifications = true
  expiration_days           = var.landing_expiration_days
  force_destroy             = var.force_destroy_buckets
  access_logging            = true
  access_log_bucket         = module.access_logs.name
  tags                      = local.tags
}

module "output_bucket" {
  source = "../modules/bucket"

  name                               = local.names.output_bucket
  kms_key_arn                        = module.kms.key_arn
  versioning_enabled                 = true
  noncurrent_version_expiration_days = var.output_noncurrent_version_expiration_days
  force_destroy                      = var.force_destroy_buckets
  access_logging                     = true
  access_log_bucket                  = module.access_logs.name
  tags                               = local.tags
}

# The domain event bus: the typed events pipelines publish to each other (routed records, completions, alerts,
# model promotions). AWS services publish to the default bus; our own events go here.
resource "aws_cloudwatch_event_bus" "domain" {
  name = "${local.prefix}-domain"
  tags = local.tags
}
