# The whole stack on the embedded local cloud. Throwaway: buckets are force-destroyed, keys wait the minimum.
module "stack" {
  source = "../../stack"

  environment      = "local"
  artifacts_dir    = coalesce(var.artifacts_dir, abspath("${path.module}/../../../dist"))
  artifacts_target = "local"

  log_retention_days       = 1
  log_level                = var.log_level
  kms_deletion_window_days = 7
  force_destroy_buckets    = true

  ingest_function_timeout        = var.ingest_function_timeout
  ingest_batching_window_seconds = var.ingest_batching_window_seconds
}
