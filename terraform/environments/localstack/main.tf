# The whole stack on LocalStack (docker compose). Lambda functions run in LocalStack's containers built from the
# AWS Lambda images, so they need the AWS build (manylinux wheels for the runtime's Python): make build-aws.
module "stack" {
  source = "../../stack"

  environment    = "localstack"
  api_key_hashes = { developer = sha256(var.api_key) }
  # Keys added or revoked at run time take effect within a second (no authorizer cache locally).
  api_keys_max_age_seconds     = 1
  api_authorizer_cache_seconds = 0
  artifacts_dir                = coalesce(var.artifacts_dir, abspath("${path.module}/../../../dist/aws"))
  artifacts_target             = "aws"
  runtime                      = "python3.12" # what `make build-aws` targets

  log_retention_days       = 1
  log_level                = var.log_level
  kms_deletion_window_days = 7
  force_destroy_buckets    = true

  ingest_function_timeout        = var.ingest_function_timeout
  ingest_batching_window_seconds = var.ingest_batching_window_seconds

  # EventBridge archive of each bus: how far back `sluicectl replay` reaches
  event_archive_retention_days = 1
}
