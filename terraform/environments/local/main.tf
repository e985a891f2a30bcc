# The whole stack on the embedded local cloud. Throwaway: buckets are force-destroyed, keys wait the minimum.
module "stack" {
  source = "../../stack"

  environment    = "local"
  api_key_hashes = { developer = sha256(var.api_key) }
  # Keys added or revoked at run time take effect within a second (no authorizer cache locally).
  api_keys_max_age_seconds     = 1
  api_authorizer_cache_seconds = 0
  artifacts_dir                = coalesce(var.artifacts_dir, abspath("${path.module}/../../../dist"))
  artifacts_target             = "local"

  log_retention_days       = 1
  log_level                = var.log_level
  kms_deletion_window_days = 7
  force_destroy_buckets    = true

  ingest_function_timeout        = var.ingest_function_timeout
  ingest_batching_window_seconds = var.ingest_batching_window_seconds

  # The local cloud serves every HTTP API on its API port: http://127.0.0.1:<port>/<api id>[/<stage>].
  http_api_url_template               = "${var.api_endpoint}/{api_id}{stage_path}"
  inference_model_pointer_ttl_seconds = var.inference_model_pointer_ttl_seconds
  inference_batching_window_seconds   = var.inference_batching_window_seconds

  # A small threshold for demos and the e2e tests; the corrupt-labels test switch proves a worse model is refused.
  retraining_label_threshold     = 10
  retraining_allow_test_switches = true
  # EventBridge archive of each bus: how far back `sluicectl replay` reaches
  event_archive_retention_days = 1
}
