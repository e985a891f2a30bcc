# Operations (issue 8): one EventBridge archive per bus (what `sluicectl replay` replays from) and one CloudWatch
# dashboard per environment, built from the stack's own modules: every function, queue and DLQ, API and EMF
# metric of each pipeline, and every alarm of the stack in the status widget.

locals {
  # Every alarm of the stack (the `alarm_names` output and the dashboard's status widget read this list).
  alarm_names = concat(
    module.ingest_queue.alarm_names, module.ingest_processor.alarm_names,
    module.inference_queue.alarm_names, module.inference_api.alarm_names, module.inference_worker.alarm_names,
    local.routing_alarm_names, local.stream_alarm_names,
    module.daily_report_queue.alarm_names, module.daily_report.alarm_names,
    module.retraining_queue.alarm_names, module.feedback_api.alarm_names, module.model_retrainer.alarm_names, module.model_trainer.alarm_names,
    module.api_authorizer.alarm_names, module.inference_http_api.alarm_names,
    local.documents_alarm_names,
  )
  # Pipeline 4 (documents.tf): every step function, the ETL step, and each state machine's failed-executions alarm.
  documents_alarm_names = concat(
    flatten([for f in values(module.document_steps) : f.alarm_names]),
    module.etl_step.alarm_names,
    module.documents_start.alarm_names, module.documents_start_queue.alarm_names,
    module.documents_ended.alarm_names, module.documents_ended_queue.alarm_names,
    [module.documents_workflow.alarm_name, module.documents_analysis.alarm_name, module.etl_workflow.alarm_name],
  )
  alarm_arns = [for name in local.alarm_names : "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${name}"]

  # POWERTOOLS_SERVICE_NAME of a function module: the `service` dimension of its EMF metrics.
  service = {
    ingest_processor = module.ingest_processor.environment_variables["POWERTOOLS_SERVICE_NAME"]
    inference_api    = module.inference_api.environment_variables["POWERTOOLS_SERVICE_NAME"]
    inference_worker = module.inference_worker.environment_variables["POWERTOOLS_SERVICE_NAME"]
    record_router    = module.record_router.environment_variables["POWERTOOLS_SERVICE_NAME"]
    api_authorizer   = module.api_authorizer.environment_variables["POWERTOOLS_SERVICE_NAME"]
    fraud_scorer     = module.fraud_scorer.environment_variables["POWERTOOLS_SERVICE_NAME"]
    fraud_audit      = module.fraud_audit.environment_variables["POWERTOOLS_SERVICE_NAME"]
    daily_report     = module.daily_report.environment_variables["POWERTOOLS_SERVICE_NAME"]
    feedback_api     = module.feedback_api.environment_variables["POWERTOOLS_SERVICE_NAME"]
    model_retrainer  = module.model_retrainer.environment_variables["POWERTOOLS_SERVICE_NAME"]
    model_trainer    = module.model_trainer.environment_variables["POWERTOOLS_SERVICE_NAME"]
    document_steps   = { for step, f in module.document_steps : step => f.environment_variables["POWERTOOLS_SERVICE_NAME"] }
  }

  dashboard_queue = { for k, q in local.queues : k => { name = q.name, dlq_name = q.dlq_name } }

  dashboard_pipelines = {
    "1_ingest" = {
      title     = "Ingest: S3 → EventBridge → SQS → ingest processor"
      functions = [module.ingest_processor.function_name]
      queues    = [local.dashboard_queue.ingest]
      metrics = [
        { name = "ObjectsProcessed", service = local.service.ingest_processor },
        { name = "ObjectsDuplicate", service = local.service.ingest_processor },
        { name = "ProcessingLatency", service = local.service.ingest_processor, stat = "p99" },
      ]
    }
    "2_routing" = {
      title     = "Routing: records → router → typed events → processors"
      functions = concat([module.record_router.function_name], [for f in values(module.record_processor) : f.function_name])
      queues = concat(
        [local.dashboard_queue.router, local.dashboard_queue.unroutable],
        [for type in keys(module.route_queue) : local.dashboard_queue["route_${type}"]],
      )
      metrics = concat(
        [{ name = "PutEventsCalls", service = local.service.record_router }, { name = "PublishRetries", service = local.service.record_router }],
        flatten([for f in values(module.record_processor) : [
          { name = "RecordsProcessed", service = f.environment_variables["POWERTOOLS_SERVICE_NAME"] },
          { name = "RecordsDuplicate", service = f.environment_variables["POWERTOOLS_SERVICE_NAME"] },
        ]]),
      )
    }
    "3_fanout" = {
      title     = "S3 fan-out: uploads → consumers → completions"
      functions = [for f in values(module.fanout_consumer) : f.function_name]
      queues = concat(
        [for name in keys(module.fanout_queue) : local.dashboard_queue["fanout_${name}"]],
        [local.dashboard_queue.completions],
      )
      metrics = flatten([for f in values(module.fanout_consumer) : [
        { name = "UploadsConsumed", service = f.environment_variables["POWERTOOLS_SERVICE_NAME"] },
        { name = "UploadsCompleted", service = f.environment_variables["POWERTOOLS_SERVICE_NAME"] },
      ]])
    }
    "4_inference" = {
      title     = "Inference: HTTP API → S3 → SQS → ONNX worker"
      functions = [module.inference_api.function_name, module.inference_worker.function_name, module.api_authorizer.function_name]
      queues    = [local.dashboard_queue.inference]
      apis      = [module.inference_http_api.api_id]
      metrics = [
        { name = "RequestsAuthorized", service = local.service.api_authorizer },
        { name = "RequestsDenied", service = local.service.api_authorizer },
        { name = "AuthorizerErrors", service = local.service.api_authorizer },
        { name = "PredictionsAccepted", service = local.service.inference_api },
        { name = "PredictionsSucceeded", service = local.service.inference_worker },
        { name = "ImageLatency", service = local.service.inference_worker, stat = "p99" },
        { name = "BatchInferenceLatency", service = local.service.inference_worker, stat = "p99" },
      ]
    }
    # Metrics counted with a per-value dimension (code, sentiment, reason, status) are summed over their values
    # (`dimensions`: a SEARCH expression in the dashboard module).
    "5_documents" = {
      title          = "Documents: S3 → EventBridge → start → Step Functions (extract, Express: sentiment ∥ summary, store) + ETL"
      functions      = concat([module.documents_start.function_name], [for f in values(module.document_steps) : f.function_name], [module.documents_ended.function_name, module.etl_step.function_name])
      state_machines = [module.documents_workflow.arn, module.documents_analysis.arn, module.etl_workflow.arn]
      metrics = concat(
        [
          { name = "DocumentsProcessed", service = local.service.document_steps.store, dimensions = ["sentiment"] },
          { name = "DocumentsFailed", service = local.service.document_steps.record_failure, dimensions = ["code"] },
          { name = "DocumentsFailed", service = module.documents_ended.environment_variables["POWERTOOLS_SERVICE_NAME"], dimensions = ["code"] },
        ],
        [for step, service in local.service.document_steps : { name = "DocumentsRejected", service = service, dimensions = ["code"] } if step != "record_failure"],
      )
    }
    "6_fraud" = {
      title     = "Fraud stream: Kinesis → fraud scorer → alerts table → audit"
      functions = [module.fraud_scorer.function_name, module.fraud_audit.function_name]
      streams   = [module.transactions_stream.name]
      queues    = [for k in keys(local.stream_queues) : local.dashboard_queue[k]]
      metrics = [
        { name = "TransactionsScored", service = local.service.fraud_scorer },
        { name = "TransactionsAlreadyScored", service = local.service.fraud_scorer },
        { name = "FraudAlerts", service = local.service.fraud_scorer },
        { name = "FraudAlertReasons", service = local.service.fraud_scorer, dimensions = ["reason"] },
        { name = "ScoredWithoutModel", service = local.service.fraud_scorer },
        { name = "BatchScoringLatency", service = local.service.fraud_scorer, stat = "p99" },
        { name = "AuditRecordsWritten", service = local.service.fraud_audit },
        { name = "AuditRecordsAlreadyThere", service = local.service.fraud_audit },
      ]
    }
    "7_batch" = {
      title     = "Daily report and retraining: schedules, POST /feedback → retrainer → trainer"
      functions = [module.daily_report.function_name, module.feedback_api.function_name, module.model_retrainer.function_name, module.model_trainer.function_name]
      queues    = [local.dashboard_queue.daily_report, local.dashboard_queue.retraining]
      apis      = [module.inference_http_api.api_id] # POST /feedback is a route of the inference API
      metrics = [
        { name = "DailyReports", service = local.service.daily_report, dimensions = ["status"] },
        { name = "FeedbackRequests", service = local.service.feedback_api, dimensions = ["status"] },
        { name = "RetrainingRequested", service = local.service.feedback_api },
        { name = "RetrainingRuns", service = local.service.model_retrainer, dimensions = ["status"] },
        { name = "TrainingSeconds", service = local.service.model_trainer, stat = "Maximum" },
      ]
    }
  }

  # Every bus the stack owns or uses, by short name: AWS services publish to default, our own events go to domain.
  event_buses = {
    default = { name = "default", arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default" }
    domain  = { name = aws_cloudwatch_event_bus.domain.name, arn = aws_cloudwatch_event_bus.domain.arn }
  }
}

# Every event of each bus is archived (no pattern): a replay then chooses the window and, with --rule, the rules.
# Encrypted at rest with an AWS owned key (EventBridge's default); a customer managed key would need the
# environment key's policy to grant events.amazonaws.com kms:DescribeKey as well.
resource "aws_cloudwatch_event_archive" "bus" {
  for_each = local.event_buses

  name             = "${local.prefix}-${each.key}"
  description      = "sluice ${var.environment}: every event of the ${each.value.name} bus, for replays (sluicectl replay --bus ${each.key})"
  event_source_arn = each.value.arn
  retention_days   = var.event_archive_retention_days
}

module "dashboard" {
  source = "../modules/dashboard"

  name           = local.prefix
  region         = local.region
  pipelines      = local.dashboard_pipelines
  alarm_arns     = local.alarm_arns
  period_seconds = var.dashboard_period_seconds
}
