# Feedback and retraining (seeds 004 and 000): labelled predictions -> feedback store -> a retraining run that
# trains a challenger, evaluates it against the current model on the same held-out set, and promotes it only if
# it is not worse; the inference worker serves a promoted model without a redeploy (its pointer TTL).
#
# client --POST /feedback--> inference HTTP API --> feedback-api function
#   --> CopyObject inputs/<job id> --> feedback bucket feedback/<model>/images/<job id>
#   --> feedback table: label item + pending count in one transaction (one item per job: counted once)
#   --> pending >= threshold (conditional write, one winner) --> RetrainingRequested on the domain bus
# domain bus rule RetrainingRequested --+--> retraining queue (+DLQ) --> model-retrainer (batch 1; ml layer)
# default bus schedule rule -----------'      --(invoke, sync)--> model-trainer (train layer: scikit-learn, skl2onnx)
#   --> challenger + card in the model bucket; pointer moved (If-Match) only if not worse on the same held-out set
#   --> ModelPromoted / ModelRejected (domain bus)

locals {
  retraining = {
    feedback_table    = "${local.prefix}-feedback"
    feedback_bucket   = "${local.prefix}-${local.account_id}-feedback"
    queue             = "${local.prefix}-retraining"
    request_rule      = "${local.prefix}-retraining-requested"
    schedule_rule     = "${local.prefix}-retraining-schedule"
    feedback_function = "${local.prefix}-feedback-api"
    retrainer         = "${local.prefix}-model-retrainer"
    trainer           = "${local.prefix}-model-trainer"
    train_layer       = "${local.prefix}-train"
    feedback_prefix   = "feedback/"
  }
  # Rules on a custom bus have the bus name in their ARN.
  retraining_rule_arns = [
    "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${aws_cloudwatch_event_bus.domain.name}/${local.retraining.request_rule}",
    "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.retraining.schedule_rule}",
  ]

  # Added to the inference HTTP API (terraform/stack/inference.tf merges it into its integrations; its routes list
  # POST /feedback literally, so that checkov can see the route's authorization).
  retraining_api_integrations = {
    feedback = {
      function_name        = module.feedback_api.function_name
      function_arn         = module.feedback_api.function_arn
      timeout_milliseconds = min(30000, var.feedback_api_timeout * 1000)
    }
  }
}

module "train_layer" {
  source = "../modules/lambda_layer"

  name                     = local.retraining.train_layer
  description              = "sluice training: scikit-learn, scipy, skl2onnx, onnx and the sluice_train package (numpy from the ml layer)"
  package_path             = "${local.artifacts_dir}/${local.artifacts["layers/train"].path}"
  package_hash             = local.artifacts["layers/train"].sha256_base64
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
}

module "feedback_table" {
  source = "../modules/table"

  name                   = local.retraining.feedback_table
  hash_key               = { name = "job_id" }
  kms_key_arn            = module.kms.key_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.table_deletion_protection
  tags                   = local.tags
}

module "feedback_bucket" {
  source = "../modules/bucket"

  name               = local.retraining.feedback_bucket
  kms_key_arn        = module.kms.key_arn
  versioning_enabled = true
  force_destroy      = var.force_destroy_buckets
  access_logging     = true
  access_log_bucket  = module.access_logs.name
  tags               = local.tags
}

module "retraining_queue" {
  source = "../modules/queue"

  name                            = local.retraining.queue
  kms_key_arn                     = module.kms.key_arn
  visibility_timeout_seconds      = 6 * var.retrainer_timeout
  max_receive_count               = local.max_receive_count
  allowed_service_principals      = [{ service = "events.amazonaws.com", source_arns = local.retraining_rule_arns }]
  dlq_allowed_service_principals  = [{ service = "events.amazonaws.com", source_arns = local.retraining_rule_arns }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "retraining_rules" {
  source = "../modules/event_rules"

  rules = {
    (local.retraining.request_rule) = {
      event_bus_name = aws_cloudwatch_event_bus.domain.name
      description    = "RetrainingRequested (the feedback API, at the label threshold) -> retraining queue"
      event_pattern = {
        source        = ["sluice.feedback"]
        "detail-type" = ["RetrainingRequested"]
      }
      targets = {
        retraining-queue = {
          arn             = module.retraining_queue.arn
          dead_letter_arn = module.retraining_queue.dlq_arn
        }
      }
    }
    (local.retraining.schedule_rule) = {
      description         = "Scheduled retraining: trains if any new label arrived since the last run"
      schedule_expression = var.retraining_schedule
      state               = var.retraining_schedule_enabled ? "ENABLED" : "DISABLED"
      targets = {
        retraining-queue = {
          arn             = module.retraining_queue.arn
          dead_letter_arn = module.retraining_queue.dlq_arn
        }
      }
    }
  }
  tags = local.tags
}

module "feedback_api" {
  source = "../modules/lambda_function"

  name          = local.retraining.feedback_function
  service_name  = "feedback-api"
  environment   = var.environment
  description   = "Retraining: POST /feedback stores a labelled prediction and requests retraining at the threshold"
  handler       = "feedback_api.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/feedback_api"].path}"
  package_hash  = local.artifacts["functions/feedback_api"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = var.feedback_api_memory
  timeout       = var.feedback_api_timeout
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    JOBS_TABLE        = module.predictions_table.name
    INPUTS_BUCKET     = module.inference_inputs_bucket.name
    FEEDBACK_TABLE    = module.feedback_table.name
    FEEDBACK_BUCKET   = module.feedback_bucket.name
    EVENT_BUS_NAME    = aws_cloudwatch_event_bus.domain.name
    MODEL_NAME        = var.inference_model_name
    RETRAIN_THRESHOLD = tostring(var.retraining_label_threshold)
    FAILURES_TABLE    = module.failures_table.name
  }

  policy_statements = [
    {
      sid       = "ReadJobs"
      actions   = ["dynamodb:GetItem"]
      resources = [module.predictions_table.arn]
    },
    {
      # TransactWriteItems needs the permission of each action it contains (Put + Update).
      sid       = "StoreAndCountLabels"
      actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"]
      resources = [module.feedback_table.arn]
    },
    {
      # CopyObject: read the job's input, write the feedback copy.
      sid       = "ReadInputs"
      actions   = ["s3:GetObject"]
      resources = ["${module.inference_inputs_bucket.arn}/${local.inference.input_prefix}*"]
    },
    {
      sid       = "DistinguishMissingInputs"
      actions   = ["s3:ListBucket"]
      resources = [module.inference_inputs_bucket.arn]
    },
    {
      sid       = "WriteFeedbackImages"
      actions   = ["s3:PutObject"]
      resources = ["${module.feedback_bucket.arn}/${local.retraining.feedback_prefix}*"]
    },
    {
      sid       = "RequestRetraining"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.domain.arn]
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

module "model_retrainer" {
  source = "../modules/lambda_function"

  name          = local.retraining.retrainer
  service_name  = "model-retrainer"
  environment   = var.environment
  description   = "Retraining: trains a challenger with the feedback labels, promotes it only if it is not worse"
  handler       = "model_retrainer.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/model_retrainer"].path}"
  package_hash  = local.artifacts["functions/model_retrainer"].sha256_base64
  layers        = [module.shared_layer.arn, module.ml_layer.arn]
  memory_size   = var.retrainer_memory
  timeout       = var.retrainer_timeout
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    MODEL_BUCKET           = module.model_bucket.name
    MODEL_NAME             = var.inference_model_name
    FEEDBACK_TABLE         = module.feedback_table.name
    FEEDBACK_BUCKET        = module.feedback_bucket.name
    EVENT_BUS_NAME         = aws_cloudwatch_event_bus.domain.name
    FAILURES_TABLE         = module.failures_table.name
    DLQ_URL                = module.retraining_queue.dlq_url
    TRAINER_FUNCTION       = module.model_trainer.function_name
    RETRAIN_THRESHOLD      = tostring(var.retraining_label_threshold)
    ESTIMATOR              = var.retraining_estimator
    MIN_ACCURACY           = tostring(var.retraining_min_accuracy)
    FEEDBACK_HOLDOUT_EVERY = tostring(var.retraining_holdout_every)
    CLAIM_STALE_SECONDS    = tostring(2 * var.retrainer_timeout)
    ALLOW_TEST_SWITCHES    = tostring(var.retraining_allow_test_switches)
  }

  sqs_event_sources = {
    retraining = {
      queue_arn  = module.retraining_queue.arn
      batch_size = 1
      # Runs are serialised by the claim in the feedback store; the cap keeps a backlog from training in parallel.
      maximum_concurrency = 2
    }
  }

  policy_statements = [
    {
      sid       = "ClaimAndReadLabels"
      actions   = ["dynamodb:Scan", "dynamodb:GetItem", "dynamodb:UpdateItem"]
      resources = [module.feedback_table.arn]
    },
    {
      sid       = "ReadFeedbackImages"
      actions   = ["s3:GetObject"]
      resources = ["${module.feedback_bucket.arn}/${local.retraining.feedback_prefix}*"]
    },
    {
      sid       = "DistinguishMissingObjects"
      actions   = ["s3:ListBucket"]
      resources = [module.feedback_bucket.arn, module.model_bucket.arn]
    },
    {
      # Read the current model and pointer; write the challenger, its card and (on promotion) the pointer.
      sid       = "ReadWriteModels"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${module.model_bucket.arn}/${local.inference.model_prefix}*"]
    },
    {
      # Training runs in the model trainer (scikit-learn does not fit in this function next to ONNX Runtime).
      sid       = "TrainChallengers"
      actions   = ["lambda:InvokeFunction"]
      resources = [module.model_trainer.function_arn]
    },
    {
      sid       = "PublishDecisions"
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
      resources = [module.retraining_queue.dlq_arn]
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

module "model_trainer" {
  source = "../modules/lambda_function"

  name          = local.retraining.trainer
  service_name  = "model-trainer"
  environment   = var.environment
  description   = "Retraining: fits a challenger with scikit-learn and exports it to ONNX (invoked by the model retrainer)"
  handler       = "model_trainer.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/model_trainer"].path}"
  package_hash  = local.artifacts["functions/model_trainer"].sha256_base64
  layers        = [module.shared_layer.arn, module.train_layer.arn]
  memory_size   = var.retrainer_memory
  timeout       = var.retrainer_timeout
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    FAILURES_TABLE = module.failures_table.name
  }

  # Pure computation on what the retrainer sends: no AWS access beyond its logs and the environment key.
  policy_statements = [
    {
      sid       = "UseEnvironmentKey"
      actions   = ["kms:Decrypt"]
      resources = [module.kms.key_arn]
    },
  ]

  alarm_topic_arn           = module.alarm_topic.arn
  errors_alarm_threshold    = var.lambda_errors_alarm_threshold
  throttles_alarm_threshold = var.lambda_throttles_alarm_threshold
  alarm_evaluation_periods  = var.alarm_evaluation_periods
  tags                      = local.tags
}
