output "environment" {
  description = "Environment name."
  value       = var.environment
}

output "prefix" {
  description = "Name prefix of every resource (sluice-<environment>)."
  value       = local.prefix
}

output "account_id" {
  description = "AWS account id the stack is deployed in."
  value       = local.account_id
}

output "region" {
  description = "AWS region the stack is deployed in."
  value       = local.region
}

output "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key."
  value       = module.kms.key_arn
}

output "kms_key_alias" {
  description = "Alias of the environment key (alias/sluice-<environment>)."
  value       = module.kms.alias_name
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = module.alarm_topic.arn
}

output "shared_layer_arn" {
  description = "Version ARN of the shared layer."
  value       = module.shared_layer.arn
}

output "landing_bucket_name" {
  description = "Bucket where inputs land (ingest reads incoming/*.json)."
  value       = module.landing_bucket.name
}

output "output_bucket_name" {
  description = "Bucket where results are written (ingest writes processed/...)."
  value       = module.output_bucket.name
}

output "idempotency_table_name" {
  description = "Idempotency records (Powertools), hash key id, TTL expiration."
  value       = module.idempotency_table.name
}

output "failures_table_name" {
  description = "Failure records, hash key pipeline, range key item_id."
  value       = module.failures_table.name
}

output "access_log_bucket_name" {
  description = "Bucket receiving the S3 server access logs of every other bucket."
  value       = module.access_logs.name
}

output "domain_bus_name" {
  description = "The domain event bus (typed events the pipelines publish)."
  value       = aws_cloudwatch_event_bus.domain.name
}

output "domain_bus_arn" {
  description = "ARN of the domain event bus."
  value       = aws_cloudwatch_event_bus.domain.arn
}

output "function_names" {
  description = "All function names by function package name (functions/<name>; <name>_<key> for a package deployed once per route or consumer)."
  value = merge({
    ingest_processor = module.ingest_processor.function_name
    inference_api    = module.inference_api.function_name
    inference_worker = module.inference_worker.function_name
    daily_report     = module.daily_report.function_name
    feedback_api     = module.feedback_api.function_name
    model_retrainer  = module.model_retrainer.function_name
    model_trainer    = module.model_trainer.function_name
    api_authorizer   = module.api_authorizer.function_name
  }, local.routing_function_names, local.stream_function_names)
}

output "alarm_names" {
  description = "All alarm names."
  value       = local.alarm_names # terraform/stack/observability.tf: the dashboard shows the same list
}

output "queues" {
  description = "Every queue by purpose, with its DLQ, redrive policy, KMS keys and DLQ alarms as applied."
  value = {
    for k, q in local.queues : k => {
      name               = q.name
      url                = q.url
      arn                = q.arn
      dlq_name           = q.dlq_name
      dlq_url            = q.dlq_url
      dlq_arn            = q.dlq_arn
      redrive_policy     = q.redrive_policy
      kms_master_key_ids = q.kms_master_key_ids
      dlq_alarms         = q.dlq_alarms
    }
  }
}

output "buckets" {
  description = "Every bucket by purpose, with its encryption and public access block as applied."
  value = {
    for k, b in local.buckets : k => {
      name                = b.name
      arn                 = b.arn
      encryption          = b.encryption
      public_access_block = b.public_access_block
      policy              = b.policy
    }
  }
}

output "tables" {
  description = "Every table by purpose, with its encryption and recovery settings as applied."
  value = {
    for k, t in local.tables : k => {
      name                   = t.name
      arn                    = t.arn
      server_side_encryption = t.server_side_encryption
      point_in_time_recovery = t.point_in_time_recovery
    }
  }
}

output "pipelines" {
  description = "Structured description of every pipeline (trigger, queue, functions, tables, output), for scripts that discover resources."
  value = merge(local.routing_pipelines, local.stream_pipelines, {
    ingest = {
      description = "JSON objects landed under incoming/ are validated, transformed and written to processed/"
      trigger = {
        type           = "s3"
        bucket         = module.landing_bucket.name
        prefix         = local.incoming_prefix
        suffix         = ".json"
        event_bus_name = "default"
        rule_name      = one(module.ingest_rules.rule_names)
      }
      queue = {
        name              = module.ingest_queue.name
        url               = module.ingest_queue.url
        arn               = module.ingest_queue.arn
        dlq_name          = module.ingest_queue.dlq_name
        dlq_url           = module.ingest_queue.dlq_url
        dlq_arn           = module.ingest_queue.dlq_arn
        max_receive_count = module.ingest_queue.max_receive_count
      }
      functions = {
        ingest_processor = {
          name      = module.ingest_processor.function_name
          arn       = module.ingest_processor.function_arn
          log_group = module.ingest_processor.log_group_name
        }
      }
      tables = {
        results     = module.ingest_results_table.name
        failures    = module.failures_table.name
        idempotency = module.idempotency_table.name
      }
      output = {
        bucket = module.output_bucket.name
        prefix = local.processed_prefix
      }
    }
    inference = {
      description = "Images posted to the HTTP API are classified asynchronously by the current ONNX model"
      trigger = {
        type           = "http"
        url            = local.inference_api_url
        routes         = keys(module.inference_http_api.route_ids)
        bucket         = module.inference_inputs_bucket.name
        prefix         = local.inference.input_prefix
        event_bus_name = "default"
        rule_name      = one(module.inference_rules.rule_names)
      }
      queue = {
        name              = module.inference_queue.name
        url               = module.inference_queue.url
        arn               = module.inference_queue.arn
        dlq_name          = module.inference_queue.dlq_name
        dlq_url           = module.inference_queue.dlq_url
        dlq_arn           = module.inference_queue.dlq_arn
        max_receive_count = module.inference_queue.max_receive_count
      }
      functions = {
        inference_api = {
          name      = module.inference_api.function_name
          arn       = module.inference_api.function_arn
          log_group = module.inference_api.log_group_name
        }
        inference_worker = {
          name      = module.inference_worker.function_name
          arn       = module.inference_worker.function_arn
          log_group = module.inference_worker.log_group_name
        }
      }
      tables = {
        jobs     = module.predictions_table.name
        failures = module.failures_table.name
      }
      model = {
        bucket  = module.model_bucket.name
        name    = var.inference_model_name
        pointer = "models/${var.inference_model_name}/current.json"
      }
      events = {
        bus         = aws_cloudwatch_event_bus.domain.name
        source      = "sluice.inference"
        detail_type = "PredictionCompleted"
      }
    }
  })
}

output "api_keys_parameter" {
  description = "SSM SecureString parameter holding the HTTP API key hashes ({client: sha256 hex}); manage keys with `sluicectl api-key`."
  value       = aws_ssm_parameter.api_keys.name
}
