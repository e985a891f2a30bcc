# Pipeline 3 (seeds 004 and 000): asynchronous ML inference with a real model.
#
# client --POST /predictions--> HTTP API --> inference-api function --(job queued)--> jobs table
#                                                 |--(image inline: PutObject)--> inputs bucket, inputs/<job id>
#                                                 '--(large: presigned PUT URL)--> the client uploads there
# inputs bucket --(S3 Object Created, default bus)--> rule --> inference queue (+DLQ after 3 receives)
#   --> inference-worker (batches: ONNX Runtime session per environment, model from the model bucket's
#       current pointer, cached in /tmp) --> jobs table (succeeded/failed) + PredictionCompleted on the domain bus
# client --GET /predictions/{id}--> HTTP API --> inference-api function --> jobs table

locals {
  inference = {
    inputs_bucket   = "${local.prefix}-${local.account_id}-inference-inputs"
    model_bucket    = "${local.prefix}-${local.account_id}-models"
    jobs_table      = "${local.prefix}-predictions"
    queue           = "${local.prefix}-inference"
    rule            = "${local.prefix}-inference-input-created"
    api             = "${local.prefix}-inference-api"
    api_function    = "${local.prefix}-inference-api"
    worker_function = "${local.prefix}-inference-worker"
    ml_layer        = "${local.prefix}-ml"
    input_prefix    = "inputs/"
    model_prefix    = "models/"
  }

  # Built from the name, as for the ingest rule: the queue policy must name the rule without waiting for it.
  inference_rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.inference.rule}"

  inference_visibility_timeout = 6 * var.inference_worker_timeout + var.inference_batching_window_seconds

  # Where clients reach the API: the stage's invoke URL on AWS; the environment's template elsewhere (the local
  # cloud serves every API on its own port, http://127.0.0.1:<port>/<api id>[/<stage>]).
  inference_api_stage_path = var.inference_api_stage_name == "$default" ? "" : "/${var.inference_api_stage_name}"
  inference_api_url = (
    var.http_api_url_template == null
    ? trimsuffix(module.inference_http_api.invoke_url, "/")
    : replace(replace(var.http_api_url_template, "{api_id}", module.inference_http_api.api_id), "{stage_path}", local.inference_api_stage_path)
  )
}

module "ml_layer" {
  source = "../modules/lambda_layer"

  name                     = local.inference.ml_layer
  description              = "sluice ML runtime: ONNX Runtime, numpy, Pillow and the sluice_ml package (preprocessing, model store)"
  package_path             = "${local.artifacts_dir}/${local.artifacts["layers/ml"].path}"
  package_hash             = local.artifacts["layers/ml"].sha256_base64
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
}

module "inference_inputs_bucket" {
  source = "../modules/bucket"

  name                      = local.inference.inputs_bucket
  kms_key_arn               = module.kms.key_arn
  eventbridge_notifications = true
  expiration_days           = var.inference_input_expiration_days
  force_destroy             = var.force_destroy_buckets
  tags                      = local.tags
}

module "model_bucket" {
  source = "../modules/bucket"

  name                               = local.inference.model_bucket
  kms_key_arn                        = module.kms.key_arn
  versioning_enabled                 = true
  noncurrent_version_expiration_days = var.model_noncurrent_version_expiration_days
  force_destroy                      = var.force_destroy_buckets
  tags                               = local.tags
}

module "predictions_table" {
  source = "../modules/table"

  name                   = local.inference.jobs_table
  hash_key               = { name = "job_id" }
  ttl_attribute          = "expires_at"
  kms_key_arn            = module.kms.key_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.table_deletion_protection
  tags                   = local.tags
}

module "inference_queue" {
  source = "../modules/queue"

  name                            = local.inference.queue
  kms_key_arn                     = module.kms.key_arn
  visibility_timeout_seconds      = local.inference_visibility_timeout
  max_receive_count               = local.max_receive_count
  allowed_service_principals      = [{ service = "events.amazonaws.com", source_arns = [local.inference_rule_arn] }]
  dlq_allowed_service_principals  = [{ service = "events.amazonaws.com", source_arns = [local.inference_rule_arn] }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "inference_rules" {
  source = "../modules/event_rules"

  rules = {
    (local.inference.rule) = {
      description = "Images created under ${local.inference.input_prefix} in the inference inputs bucket -> inference queue"
      event_pattern = {
        source        = ["aws.s3"]
        "detail-type" = ["Object Created"]
        detail = {
          bucket = { name = [module.inference_inputs_bucket.name] }
          object = { key = [{ prefix = local.inference.input_prefix }] }
        }
      }
      targets = {
        inference-queue = {
          arn             = module.inference_queue.arn
          dead_letter_arn = module.inference_queue.dlq_arn
        }
      }
    }
  }
  tags = local.tags
}

module "inference_api" {
  source = "../modules/lambda_function"

  name          = local.inference.api_function
  service_name  = "inference-api"
  environment   = var.environment
  description   = "Pipeline inference: HTTP API (POST /predictions, GET /predictions/{id})"
  handler       = "inference_api.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/inference_api"].path}"
  package_hash  = local.artifacts["functions/inference_api"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = var.inference_api_memory
  timeout       = var.inference_api_timeout
  log_level     = var.log_level

  log_retention_days             = var.log_retention_days
  kms_key_arn                    = module.kms.key_arn
  reserved_concurrent_executions = var.inference_api_reserved_concurrency

  environment_variables = {
    JOBS_TABLE                 = module.predictions_table.name
    INPUTS_BUCKET              = module.inference_inputs_bucket.name
    FAILURES_TABLE             = module.failures_table.name
    MAX_INLINE_BYTES           = tostring(var.inference_max_inline_bytes)
    MAX_IMAGE_BYTES            = tostring(var.inference_max_image_bytes)
    UPLOAD_URL_EXPIRES_SECONDS = tostring(var.inference_upload_url_expires_seconds)
    JOB_TTL_SECONDS            = tostring(var.inference_job_ttl_seconds)
  }

  policy_statements = [
    {
      # DeleteItem: a job whose inline image could not be stored is removed again (the client got a 5xx).
      sid       = "ReadWriteJobs"
      actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"]
      resources = [module.predictions_table.arn]
    },
    {
      # Inline images, and the presigned upload URLs (a presigned request acts with the signer's permissions).
      sid       = "WriteInputs"
      actions   = ["s3:PutObject"]
      resources = ["${module.inference_inputs_bucket.arn}/${local.inference.input_prefix}*"]
    },
    {
      sid       = "UseEnvironmentKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [module.kms.key_arn]
    },
  ]

  alarm_topic_arn           = module.alarm_topic.arn
  errors_alarm_threshold    = var.lambda_errors_alarm_threshold
  throttles_alarm_threshold = var.lambda_throttles_alarm_threshold
  alarm_evaluation_periods  = var.alarm_evaluation_periods
  tags                      = local.tags
}

module "inference_worker" {
  source = "../modules/lambda_function"

  name          = local.inference.worker_function
  service_name  = "inference-worker"
  environment   = var.environment
  description   = "Pipeline inference: classifies uploaded images in batches with the current ONNX model"
  handler       = "inference_worker.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/inference_worker"].path}"
  package_hash  = local.artifacts["functions/inference_worker"].sha256_base64
  layers        = [module.shared_layer.arn, module.ml_layer.arn]
  memory_size   = var.inference_worker_memory
  timeout       = var.inference_worker_timeout
  log_level     = var.log_level

  log_retention_days             = var.log_retention_days
  kms_key_arn                    = module.kms.key_arn
  reserved_concurrent_executions = var.inference_worker_reserved_concurrency

  environment_variables = {
    JOBS_TABLE                = module.predictions_table.name
    MODEL_BUCKET              = module.model_bucket.name
    MODEL_NAME                = var.inference_model_name
    MODEL_POINTER_TTL_SECONDS = tostring(var.inference_model_pointer_ttl_seconds)
    EVENT_BUS_NAME            = aws_cloudwatch_event_bus.domain.name
    FAILURES_TABLE            = module.failures_table.name
    DLQ_URL                   = module.inference_queue.dlq_url
    MAX_IMAGE_BYTES           = tostring(var.inference_max_image_bytes)
    MAX_RECEIVE_COUNT         = tostring(local.max_receive_count)
  }

  sqs_event_sources = {
    inference = {
      queue_arn                          = module.inference_queue.arn
      batch_size                         = var.inference_batch_size
      maximum_batching_window_in_seconds = var.inference_batching_window_seconds
      maximum_concurrency                = var.inference_maximum_concurrency
    }
  }

  policy_statements = [
    {
      sid       = "ReadInputs"
      actions   = ["s3:GetObject"]
      resources = ["${module.inference_inputs_bucket.arn}/${local.inference.input_prefix}*"]
    },
    {
      # Without ListBucket a missing object is 403 AccessDenied, not 404: the job must end failed (input_missing),
      # not be retried as if S3 were down.
      sid       = "DistinguishMissingObjects"
      actions   = ["s3:ListBucket"]
      resources = [module.inference_inputs_bucket.arn, module.model_bucket.arn]
    },
    {
      sid       = "ReadModels"
      actions   = ["s3:GetObject"]
      resources = ["${module.model_bucket.arn}/${local.inference.model_prefix}*"]
    },
    {
      sid       = "EndJobs"
      actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem"]
      resources = [module.predictions_table.arn]
    },
    {
      sid       = "PublishCompletions"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.domain.arn]
    },
    {
      sid       = "RecordFailures"
      actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [module.failures_table.arn]
    },
    {
      sid       = "DeadLetterPermanentFailures"
      actions   = ["sqs:SendMessage"]
      resources = [module.inference_queue.dlq_arn]
    },
    {
      sid       = "UseEnvironmentKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [module.kms.key_arn]
    },
  ]

  alarm_topic_arn           = module.alarm_topic.arn
  errors_alarm_threshold    = var.lambda_errors_alarm_threshold
  throttles_alarm_threshold = var.lambda_throttles_alarm_threshold
  alarm_evaluation_periods  = var.alarm_evaluation_periods
  tags                      = local.tags
}

module "inference_http_api" {
  source = "../modules/http_api"

  name        = local.inference.api
  description = "sluice ${var.environment}: asynchronous digit classification (POST /predictions, GET /predictions/{id})"
  stage_name  = var.inference_api_stage_name
  kms_key_arn = module.kms.key_arn

  lambda_integrations = {
    api = {
      function_name        = module.inference_api.function_name
      function_arn         = module.inference_api.function_arn
      timeout_milliseconds = min(30000, var.inference_api_timeout * 1000)
    }
    feedback = local.retraining_api_integrations.feedback # POST /feedback: retraining.tf
  }
  routes = {
    "POST /predictions"     = { integration = "api" }
    "GET /predictions/{id}" = { integration = "api" }
    "POST /feedback"        = { integration = "feedback" } # the retraining loop's labels: retraining.tf
  }
  authorizer = local.http_api_authorizer

  alarm_topic_arn               = module.alarm_topic.arn
  server_errors_alarm_threshold = var.api_server_errors_alarm_threshold
  alarm_evaluation_periods      = var.alarm_evaluation_periods

  throttling_burst_limit = var.inference_api_throttling_burst_limit
  throttling_rate_limit  = var.inference_api_throttling_rate_limit
  log_retention_days     = var.log_retention_days
  tags                   = local.tags
}
