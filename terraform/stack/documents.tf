# Pipeline 4 (issue 6; seed 004's document pipeline, seed 001 pattern 3, seed 002's orchestration): a PDF or text
# file under documents/ in the landing bucket -> EventBridge rule -> the starter function (asynchronous invoke,
# input transformer) -> StartExecution of the document workflow, named sha256(key#ETag) so a duplicate event
# starts nothing new (ExecutionAlreadyExists is a success) -> extract (checks and pypdf, one GET) -> analyse, a nested
# EXPRESS workflow run with startExecution.sync:2: Parallel(sentiment (VADER), summary + keywords (YAKE)) ->
# store (results table + JSON in the output bucket) -> notify (SNS). Catch -> record the failure (failures table)
# -> SNS -> Fail. A second, small definition on the same module: the generic ETL (Extract -> Transform -> Load ->
# Notify).
#
# Why a function starts the workflow and the analysis is an Express workflow: Standard workflows bill every state
# transition ($25 per million), which is most of this pipeline's bill. A one-state Standard starter machine cost
# a transition per document; the function costs a Lambda request and ~20 ms at 128 MB (about 1 % of that), and
# closes a gap: its failed starts land in a dead-letter queue (the function's and the rule target's). The Parallel
# with its two branches cost 3 transitions; as a nested Express workflow it costs the Standard workflow one (its
# Analyse task) plus an Express request and duration (about 1/12 of that). The Standard workflow keeps what
# needs it: exactly-once named executions (the duplicate-event guarantee) and the full execution history.

locals {
  documents_names = {
    results_table = "${local.prefix}-document-results"
    notices_topic = "${local.prefix}-workflow-notices"
    workflow      = "${local.prefix}-documents"
    analysis      = "${local.prefix}-documents-analysis"
    start         = "${local.prefix}-document-start"
    start_queue   = "${local.prefix}-documents-start"
    rule          = "${local.prefix}-documents-uploaded"
    ended         = "${local.prefix}-document-execution-ended"
    ended_queue   = "${local.prefix}-documents-ended"
    ended_rule    = "${local.prefix}-documents-execution-ended"
    etl           = "${local.prefix}-etl"
  }
  documents_rule_arn       = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.documents_names.rule}"
  documents_ended_rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.documents_names.ended_rule}"
  # Built from the name: the starter function's IAM and settings name the workflow, which does not depend on it.
  documents_workflow_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.documents_names.workflow}"
  # The steps each machine calls: the Standard workflow's and the nested Express analysis' (least privilege).
  analysis_steps = ["sentiment", "summarize"]

  # The seed's retry policy for every task: 1 s, 3 attempts, backoff 2.
  workflow_retry = {
    retry_interval_seconds = var.workflow_retry_interval_seconds
    retry_max_attempts     = var.workflow_retry_max_attempts
    retry_backoff_rate     = var.workflow_retry_backoff_rate
  }

  document_text_objects   = "${module.output_bucket.arn}/documents/text/*"
  document_result_objects = "${module.output_bucket.arn}/documents/results/*"
  use_environment_key = {
    sid       = "UseEnvironmentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [module.kms.key_arn]
  }

  # One function per step, all from the document_steps package; each with only what its step touches.
  document_steps = {
    extract = {
      description = "Pipeline 4: check a landed document (type, size, PDF header, unchanged ETag) and extract its text (pypdf) into the output bucket"
      memory      = var.documents_extract_memory
      statements = [
        { sid = "ReadDocuments", actions = ["s3:GetObject"], resources = ["${module.landing_bucket.arn}/${var.documents_prefix}*"] },
        { sid = "DistinguishMissingDocuments", actions = ["s3:ListBucket"], resources = [module.landing_bucket.arn] },
        { sid = "WriteText", actions = ["s3:PutObject"], resources = [local.document_text_objects] },
      ]
    }
    sentiment = {
      description = "Pipeline 4: VADER sentiment of a document's text"
      memory      = 256
      statements  = [{ sid = "ReadText", actions = ["s3:GetObject"], resources = [local.document_text_objects] }]
    }
    summarize = {
      description = "Pipeline 4: extractive summary (sumy TextRank) and keywords (YAKE) of a document's text"
      memory      = var.documents_extract_memory
      statements  = [{ sid = "ReadText", actions = ["s3:GetObject"], resources = [local.document_text_objects] }]
    }
    store = {
      description = "Pipeline 4: write a document's result to the results table and the output bucket"
      memory      = 256
      statements = [
        { sid = "WriteResultObjects", actions = ["s3:PutObject"], resources = [local.document_result_objects] },
        { sid = "WriteResults", actions = ["dynamodb:PutItem"], resources = [module.documents_results_table.arn] },
      ]
    }
    record_failure = {
      description = "Pipeline 4: record a failed document with its cause in the failures table"
      memory      = 256
      statements  = [{ sid = "RecordFailures", actions = ["dynamodb:PutItem"], resources = [module.failures_table.arn] }]
    }
  }
}

module "documents_results_table" {
  source = "../modules/table"

  name                   = local.documents_names.results_table
  hash_key               = { name = "document_id" }
  kms_key_arn            = module.kms.key_arn
  point_in_time_recovery = var.point_in_time_recovery
  deletion_protection    = var.table_deletion_protection
  tags                   = local.tags
}

# Notices of the workflows (document processed / failed, ETL loaded), message attributes `pipeline` and
# `outcome` for subscription filters. The machines publish through their roles (IAM), so no publisher entries.
module "workflow_notices_topic" {
  source = "../modules/topic"

  name        = local.documents_names.notices_topic
  kms_key_arn = module.kms.key_arn
  tags        = local.tags
}

module "document_steps" {
  source   = "../modules/lambda_function"
  for_each = local.document_steps

  name          = "${local.prefix}-document-${replace(each.key, "_", "-")}"
  service_name  = "document-${replace(each.key, "_", "-")}"
  environment   = var.environment
  description   = each.value.description
  handler       = "document_steps.handler.${each.key}"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/document_steps"].path}"
  package_hash  = local.artifacts["functions/document_steps"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = each.value.memory
  timeout       = var.documents_function_timeout
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    OUTPUT_BUCKET      = module.output_bucket.name
    RESULTS_TABLE      = module.documents_results_table.name
    FAILURES_TABLE     = module.failures_table.name
    MAX_DOCUMENT_BYTES = tostring(var.documents_max_bytes)
    MAX_DOCUMENT_PAGES = tostring(var.documents_max_pages)
  }

  policy_statements = concat(each.value.statements, [local.use_environment_key])

  alarm_topic_arn           = module.alarm_topic.arn
  errors_alarm_threshold    = var.lambda_errors_alarm_threshold
  throttles_alarm_threshold = var.lambda_throttles_alarm_threshold
  alarm_evaluation_periods  = var.alarm_evaluation_periods
  tags                      = local.tags
}

module "documents_workflow" {
  source = "../modules/state_machine"

  name            = local.documents_names.workflow
  definition_file = "${path.module}/definitions/documents.asl.json.tftpl"
  definition_variables = merge(local.workflow_retry, {
    notices_topic_arn          = module.workflow_notices_topic.arn
    timeout_seconds            = var.documents_workflow_timeout_seconds
    analysis_state_machine_arn = module.documents_analysis.arn
  })
  lambda_functions    = { for step, fn in module.document_steps : step => fn.function_arn if !contains(local.analysis_steps, step) }
  sync_execution_arns = [module.documents_analysis.arn]
  publish_topic_arns  = [module.workflow_notices_topic.arn]
  kms_key_arn         = module.kms.key_arn
  log_level           = var.workflow_log_level
  log_retention_days  = var.log_retention_days

  alarm_topic_arn          = module.alarm_topic.arn
  alarm_evaluation_periods = var.alarm_evaluation_periods
  tags                     = local.tags
}

module "documents_analysis" {
  source = "../modules/state_machine"

  name                 = local.documents_names.analysis
  type                 = "EXPRESS"
  definition_file      = "${path.module}/definitions/documents_analysis.asl.json.tftpl"
  definition_variables = local.workflow_retry
  lambda_functions     = { for step, fn in module.document_steps : step => fn.function_arn if contains(local.analysis_steps, step) }
  kms_key_arn          = module.kms.key_arn
  log_level            = var.workflow_log_level
  log_retention_days   = var.log_retention_days

  alarm_topic_arn          = module.alarm_topic.arn
  alarm_evaluation_periods = var.alarm_evaluation_periods
  tags                     = local.tags
}

# Failed starts: events EventBridge could not hand to the starter function (target dead-letter config) and
# invocations that still failed after Lambda's asynchronous retries (the function's dead-letter queue) both land
# in this queue's DLQ (alarmed; `sluicectl dlq` reads it). Nothing consumes the queue itself.
module "documents_start_queue" {
  source = "../modules/queue"

  name                            = local.documents_names.start_queue
  kms_key_arn                     = module.kms.key_arn
  dlq_allowed_service_principals  = [{ service = "events.amazonaws.com", source_arns = [local.documents_rule_arn] }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "documents_start" {
  source = "../modules/lambda_function"

  name          = local.documents_names.start
  service_name  = "document-start"
  environment   = var.environment
  description   = "Pipeline 4's trigger: start the document workflow once per document version (named sha256(key#ETag))"
  handler       = "document_steps.handler.start"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/document_steps"].path}"
  package_hash  = local.artifacts["functions/document_steps"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = 128
  timeout       = 30
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    DOCUMENTS_STATE_MACHINE_ARN = local.documents_workflow_arn
    FAILURES_TABLE              = module.failures_table.name
  }
  policy_statements      = [{ sid = "StartDocumentWorkflow", actions = ["states:StartExecution"], resources = [local.documents_workflow_arn] }]
  dead_letter_target_arn = module.documents_start_queue.dlq_arn

  alarm_topic_arn           = module.alarm_topic.arn
  errors_alarm_threshold    = var.lambda_errors_alarm_threshold
  throttles_alarm_threshold = var.lambda_throttles_alarm_threshold
  alarm_evaluation_periods  = var.alarm_evaluation_periods
  tags                      = local.tags
}

resource "aws_lambda_permission" "documents_start" {
  statement_id   = "DocumentsUploadedRule"
  action         = "lambda:InvokeFunction"
  function_name  = module.documents_start.function_name
  principal      = "events.amazonaws.com"
  source_arn     = local.documents_rule_arn
  source_account = local.account_id
}

module "documents_rules" {
  source = "../modules/event_rules"

  rules = {
    (local.documents_names.rule) = {
      description = "PDF and text documents created under ${var.documents_prefix} in the landing bucket -> document workflow"
      event_pattern = {
        source        = ["aws.s3"]
        "detail-type" = ["Object Created"]
        detail = {
          bucket = { name = [module.landing_bucket.name] }
          object = {
            key = [
              for suffix in [".pdf", ".PDF", ".txt", ".text", ".md"] : { wildcard = "${var.documents_prefix}*${suffix}" }
            ]
          }
        }
      }
      targets = {
        documents-start = {
          arn             = module.documents_start.function_arn
          dead_letter_arn = module.documents_start_queue.dlq_arn
          input_transformer = {
            input_paths = {
              bucket = "$.detail.bucket.name"
              key    = "$.detail.object.key"
              etag   = "$.detail.object.etag"
              size   = "$.detail.object.size"
              time   = "$.time"
            }
            input_template = "{\"document\": {\"bucket\": <bucket>, \"key\": <key>, \"etag\": <etag>, \"size\": <size>, \"event_time\": <time>}}"
          }
          retry_policy = { maximum_event_age_in_seconds = 86400, maximum_retry_attempts = 185 }
        }
      }
    }
  }
  tags = local.tags

  depends_on = [module.documents_workflow, aws_lambda_permission.documents_start]
}

# --- executions that ended without succeeding ----------------------------------------------------------------------
# The workflow's Catch -> RecordFailure path records what its states report; an execution that TIMED_OUT
# (TimeoutSeconds), was ABORTED (StopExecution) or FAILED past that path (RecordFailure's retries used up,
# States.Runtime) would leave only its execution status. Step Functions puts an "Execution Status Change" event
# for every Standard execution on the default bus: this rule sends the three end statuses of the document workflow
# to a function that writes the failure item (conditional put on the same key as RecordFailure, so a failure the
# Catch path recorded, or a repeated event, writes nothing). Undeliverable events (target DLQ) and invocations
# that failed after Lambda's asynchronous retries (function DLQ) land in one alarmed DLQ, as for the starter.
module "documents_ended_queue" {
  source = "../modules/queue"

  name                            = local.documents_names.ended_queue
  kms_key_arn                     = module.kms.key_arn
  dlq_allowed_service_principals  = [{ service = "events.amazonaws.com", source_arns = [local.documents_ended_rule_arn] }]
  alarm_topic_arn                 = module.alarm_topic.arn
  dlq_age_alarm_threshold_seconds = var.dlq_age_alarm_threshold_seconds
  tags                            = local.tags
}

module "documents_ended" {
  source = "../modules/lambda_function"

  name          = local.documents_names.ended
  service_name  = "document-execution-ended"
  environment   = var.environment
  description   = "Pipeline 4: record a document whose workflow execution timed out, was aborted or failed past its Catch path"
  handler       = "document_steps.handler.execution_ended"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/document_steps"].path}"
  package_hash  = local.artifacts["functions/document_steps"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = 128
  timeout       = 30
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    FAILURES_TABLE = module.failures_table.name
  }
  policy_statements = [
    { sid = "RecordFailures", actions = ["dynamodb:PutItem"], resources = [module.failures_table.arn] },
    local.use_environment_key,
  ]
  dead_letter_target_arn = module.documents_ended_queue.dlq_arn

  alarm_topic_arn           = module.alarm_topic.arn
  errors_alarm_threshold    = var.lambda_errors_alarm_threshold
  throttles_alarm_threshold = var.lambda_throttles_alarm_threshold
  alarm_evaluation_periods  = var.alarm_evaluation_periods
  tags                      = local.tags
}

resource "aws_lambda_permission" "documents_ended" {
  statement_id   = "DocumentsExecutionEndedRule"
  action         = "lambda:InvokeFunction"
  function_name  = module.documents_ended.function_name
  principal      = "events.amazonaws.com"
  source_arn     = local.documents_ended_rule_arn
  source_account = local.account_id
}

module "documents_ended_rules" {
  source = "../modules/event_rules"

  rules = {
    (local.documents_names.ended_rule) = {
      description = "Document workflow executions that timed out, were aborted or failed -> failure record"
      event_pattern = {
        source        = ["aws.states"]
        "detail-type" = ["Step Functions Execution Status Change"]
        detail = {
          stateMachineArn = [local.documents_workflow_arn]
          status          = ["TIMED_OUT", "ABORTED", "FAILED"]
        }
      }
      targets = {
        documents-execution-ended = {
          arn             = module.documents_ended.function_arn
          dead_letter_arn = module.documents_ended_queue.dlq_arn
          retry_policy    = { maximum_event_age_in_seconds = 86400, maximum_retry_attempts = 185 }
        }
      }
    }
  }
  tags = local.tags

  depends_on = [aws_lambda_permission.documents_ended]
}

# --- the generic ETL (seed 001, pattern 3), a second definition on the same module --------------------------------

module "etl_step" {
  source = "../modules/lambda_function"

  name          = "${local.prefix}-etl-step"
  service_name  = "etl-step"
  environment   = var.environment
  description   = "Generic ETL: extract, transform and load steps"
  handler       = "etl_step.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/etl_step"].path}"
  package_hash  = local.artifacts["functions/etl_step"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = 256
  timeout       = var.documents_function_timeout
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    OUTPUT_BUCKET  = module.output_bucket.name
    FAILURES_TABLE = module.failures_table.name
  }

  policy_statements = [
    { sid = "ReadSources", actions = ["s3:GetObject"], resources = ["${module.landing_bucket.arn}/etl/*"] },
    { sid = "WriteLoaded", actions = ["s3:PutObject"], resources = ["${module.output_bucket.arn}/etl/loaded/*"] },
    local.use_environment_key,
  ]

  alarm_topic_arn           = module.alarm_topic.arn
  errors_alarm_threshold    = var.lambda_errors_alarm_threshold
  throttles_alarm_threshold = var.lambda_throttles_alarm_threshold
  alarm_evaluation_periods  = var.alarm_evaluation_periods
  tags                      = local.tags
}

module "etl_workflow" {
  source = "../modules/state_machine"

  name                 = local.documents_names.etl
  definition_file      = "${path.module}/definitions/etl.asl.json.tftpl"
  definition_variables = merge(local.workflow_retry, { notices_topic_arn = module.workflow_notices_topic.arn })
  lambda_functions     = { etl = module.etl_step.function_arn }
  publish_topic_arns   = [module.workflow_notices_topic.arn]
  kms_key_arn          = module.kms.key_arn
  log_level            = var.workflow_log_level
  log_retention_days   = var.log_retention_days

  alarm_topic_arn          = module.alarm_topic.arn
  alarm_evaluation_periods = var.alarm_evaluation_periods
  tags                     = local.tags
}
