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

resource "aws_apigatewayv2_authorizer" "this" {
  count = var.authorizer == null ? 0 : 1

  api_id           = aws_apigatewayv2_api.this.id
  name             = "${var.name}-${lower(var.authorizer.type)}"
  authorizer_type  = var.authorizer.type
  identity_sources = var.authorizer.identity_sources

  # REQUEST: a Lambda authorizer answering {"isAuthorized": bool, "context": {...}}.
  authorizer_uri                    = var.authorizer.type == "REQUEST" ? var.authorizer.invoke_arn : null
  authorizer_payload_format_version = var.authorizer.type == "REQUEST" ? "2.0" : null
  enable_simple_responses           = var.authorizer.type == "REQUEST" ? true : null
  authorizer_result_ttl_in_seconds  = var.authorizer.type == "REQUEST" ? var.authorizer.result_ttl_seconds : null

  dynamic "jwt_configuration" {
    for_each = var.authorizer.type == "JWT" ? [var.authorizer] : []
    content {
      issuer   = jwt_configuration.value.issuer
      audience = jwt_configuration.value.audience
    }
  }
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:authorization_type is CUSTOM or JWT on every route unless its caller sets public = true (a plan fails for a private route without an authorizer); checkov cannot evaluate the expression once routes come through module composition. tests/http_api.tftest.hcl and the environments' tests prove it.
  for_each = var.routes

  api_id    = aws_apigatewayv2_api.this.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.lambda[each.value.integration].id}"
  # Every route is authorized unless the caller marked it public; a REQUEST authorizer is a CUSTOM route.
  authorization_type = each.value.public ? "NONE" : (try(var.authorizer.type, "") == "JWT" ? "JWT" : "CUSTOM")
  authorizer_id      = each.value.public ? null : one(aws_apigatewayv2_authorizer.this[*].id)

  lifecycle {
    precondition {
      condition     = each.value.public || var.authorizer != null
      error_message = "route ${each.key} is not public, so the API needs an authorizer (or mark the route public = true)."
    }
  }
}

# API Gateway may invoke the authorizer function, for this API's authorizers only.
resource "aws_lambda_permission" "authorizer" {
  count = try(var.authorizer.type, "") == "REQUEST" ? 1 : 0

  statement_id  = "apigw-${var.name}-authorizer"
  action        = "lambda:InvokeFunction"
  function_name = var.authorizer.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/authorizers/${aws_apigatewayv2_authorizer.this[0].id}"
}

# Always created (a count on the topic ARN would be unknown at plan time); notifies only with a topic.
resource "aws_cloudwatch_metric_alarm" "server_errors" {
  alarm_name          = "${var.name}-5xx"
  alarm_description   = "${var.name}: more than ${var.server_errors_alarm_threshold} 5xx responses in a minute (integration or authorizer failures)."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = { ApiId = aws_apigatewayv2_api.this.id, Stage = var.stage_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = var.alarm_evaluation_periods
  threshold           = var.server_errors_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

# Created explicitly so it has a retention and is encrypted with our key (the key's policy must allow the logs
# service for this name: /aws/vendedlogs/apigateway/<api name>).
resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is a per-environment decision (var.log_retention_days: 1 day locally, 365 in prod).
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
