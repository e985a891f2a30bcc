# Authorization of the HTTP APIs: a Lambda authorizer (REQUEST, simple responses) checks an API key against
# SHA-256 hashes kept in an SSM SecureString parameter (environment KMS key). Terraform seeds the parameter from
# var.api_key_hashes and then leaves its value alone, so operators add, rotate and revoke keys with
# `sluicectl api-key` without a redeploy and without a key ever reaching Terraform state.

locals {
  api_auth = {
    parameter = "/${local.prefix}/api-keys"
    function  = "${local.prefix}-api-authorizer"
  }
}

resource "aws_ssm_parameter" "api_keys" {
  name        = local.api_auth.parameter
  description = "sluice ${var.environment}: HTTP API keys as {client name: sha256 hex of the key}"
  type        = "SecureString"
  key_id      = module.kms.key_arn
  value       = jsonencode(var.api_key_hashes)
  tags        = local.tags

  lifecycle {
    # Keys are managed at run time (sluicectl api-key add/revoke); Terraform only creates the parameter.
    ignore_changes = [value]
  }
}

module "api_authorizer" {
  source = "../modules/lambda_function"

  name          = local.api_auth.function
  service_name  = "api-authorizer"
  environment   = var.environment
  description   = "HTTP API authorizer: API keys checked against hashes in SSM"
  handler       = "api_authorizer.handler.handler"
  runtime       = var.runtime
  architectures = [var.architecture]
  package_path  = "${local.artifacts_dir}/${local.artifacts["functions/api_authorizer"].path}"
  package_hash  = local.artifacts["functions/api_authorizer"].sha256_base64
  layers        = [module.shared_layer.arn]
  memory_size   = 256
  timeout       = 5
  log_level     = var.log_level

  log_retention_days = var.log_retention_days
  kms_key_arn        = module.kms.key_arn

  environment_variables = {
    API_KEYS_PARAMETER = aws_ssm_parameter.api_keys.name
    API_KEYS_MAX_AGE   = tostring(var.api_keys_max_age_seconds)
  }

  policy_statements = [
    {
      sid       = "ReadKeyHashes"
      actions   = ["ssm:GetParameter"]
      resources = [aws_ssm_parameter.api_keys.arn]
    },
    {
      sid       = "DecryptKeyHashes"
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

locals {
  # What every HTTP API of the stack passes to the http_api module.
  http_api_authorizer = {
    type               = "REQUEST"
    function_name      = module.api_authorizer.function_name
    invoke_arn         = module.api_authorizer.invoke_arn
    result_ttl_seconds = var.api_authorizer_cache_seconds
  }
}
