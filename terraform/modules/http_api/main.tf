locals {
  default_stage = var.stage_name == "$default"

  # "POST /predictions/{id}" -> method POST, path /predictions/{id}; "$default" has neither.
  route_parts = {
    for key, route in var.routes : key => {
      method = key == "$default" ? "*" : split(" ", key)[0]
      path   = key == "$default" ? "" : split(" ", key)[1]
    }
  }

  # Lambda's resource policy names what may invoke it: the API, its stage and each route's method and path (path
  # variables become *), so no other API, stage or route can.
  route_source_arns = {
    for key, parts in local.route_parts : key => (
      key == "$default"
      ? "${aws_apigatewayv2_api.this.execution_arn}/*/$default"
      : "${aws_apigatewayv2_api.this.execution_arn}/${local.default_stage ? "*" : var.stage_name}/${parts.method == "ANY" ? "*" : parts.method}${replace(parts.path, "/\\{[^}]+\\}/", "*")}"
    )
  }

  access_log_format = jsonencode({
    requestId          = "$context.requestId"
    requestTime        = "$context.requestTime"
    ip                 = "$context.identity.sourceIp"
    routeKey           = "$context.routeKey"
    status             = "$context.status"
    responseLength     = "$context.responseLength"
    responseLatency    = "$context.responseLatency"
    integrationLatency = "$context.integrationLatency"
    integrationError   = "$context.integrationErrorMessage"
  })
}

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  description   = var.description
  protocol_type = "HTTP"

  dynamic "cors_configuration" {
    for_each = var.cors == null ? [] : [var.cors]
    content {
      allow_origins  = cors_configuration.value.allow_origins
      allow_methods  = cors_configuration.value.allow_methods
      allow_headers  = cors_configuration.value.allow_headers
      expose_headers = cors_configuration.value.expose_headers
      max_age        = cors_configuration.value.max_age
    }
  }

  tags = var.tags
}

resource "aws_apigatewayv2_integration" "lambda" {
  for_each = var.lambda_integrations

  api_id                 = aws_apigatewayv2_api.this.id
  description            = each.value.description
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = each.value.function_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = each.value.timeout_milliseconds
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:The APIs served so far are public by design (anonymous inference requests), throttled at the stage; the function validates every request.
  for_each = var.routes

  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.lambda[each.value.integration].id}"
  authorization_type = "NONE"
}

# Created explicitly so it has a retention and is encrypted with our key (the key's policy must allow the logs
# service for this name: /aws/vendedlogs/apigateway/<api name>).
resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is each environment's choice (log_retention_days): prod keeps a year, dev 14 days, the throwaway local cloud 1; the default is a year.
  name              = "/aws/vendedlogs/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "this" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = var.stage_name
  auto_deploy = true

  default_route_settings {
    detailed_metrics_enabled = var.detailed_metrics_enabled
    throttling_burst_limit   = var.throttling_burst_limit
    throttling_rate_limit    = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format          = local.access_log_format
  }

  stage_variables = var.stage_variables
  tags            = var.tags
}

resource "aws_lambda_permission" "route" {
  for_each = var.routes

  statement_id  = "apigw-${var.name}-${substr(sha1(each.key), 0, 12)}"
  action        = "lambda:InvokeFunction"
  function_name = var.lambda_integrations[each.value.integration].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = local.route_source_arns[each.key]
}
