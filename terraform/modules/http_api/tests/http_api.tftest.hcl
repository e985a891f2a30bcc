mock_provider "aws" {
  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      id            = "abc123"
      execution_arn = "arn:aws:execute-api:us-east-1:123456789012:abc123"
      api_endpoint  = "https://abc123.execute-api.us-east-1.amazonaws.com"
    }
  }
  mock_resource "aws_apigatewayv2_integration" {
    defaults = { id = "int0001" }
  }
  mock_resource "aws_apigatewayv2_authorizer" {
    defaults = { id = "auth001" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/apigateway/sluice-test-api" }
  }
}

variables {
  name        = "sluice-test-api"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  lambda_integrations = {
    api = {
      function_name = "sluice-test-api"
      function_arn  = "arn:aws:lambda:us-east-1:123456789012:function:sluice-test-api"
    }
  }
  routes = {
    "POST /predictions"     = { integration = "api" }
    "GET /predictions/{id}" = { integration = "api" }
    "ANY /files/{proxy+}"   = { integration = "api" }
    "$default"              = { integration = "api", public = true }
  }
  authorizer = {
    type          = "REQUEST"
    function_name = "sluice-test-authorizer"
    invoke_arn    = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:sluice-test-authorizer/invocations"
  }
  alarm_topic_arn = "arn:aws:sns:us-east-1:123456789012:sluice-test-alarms"
}

run "lambda_proxy_routes_and_stage" {
  command = apply

  assert {
    condition     = aws_apigatewayv2_api.this.protocol_type == "HTTP"
    error_message = "an HTTP API"
  }

  assert {
    condition = (
      aws_apigatewayv2_integration.lambda["api"].integration_type == "AWS_PROXY"
      && aws_apigatewayv2_integration.lambda["api"].payload_format_version == "2.0"
      && aws_apigatewayv2_integration.lambda["api"].integration_uri == var.lambda_integrations.api.function_arn
    )
    error_message = "Lambda proxy integrations with payload format 2.0"
  }

  assert {
    condition     = length(aws_apigatewayv2_route.this) == 4 && aws_apigatewayv2_route.this["GET /predictions/{id}"].target == "integrations/int0001"
    error_message = "one route per key, targeting its integration"
  }

  assert {
    condition     = aws_apigatewayv2_stage.this.name == "$default" && aws_apigatewayv2_stage.this.auto_deploy
    error_message = "the $default stage, deployed automatically"
  }

  assert {
    condition     = one(aws_apigatewayv2_stage.this.access_log_settings).destination_arn == aws_cloudwatch_log_group.access.arn && aws_cloudwatch_log_group.access.kms_key_id == var.kms_key_arn
    error_message = "access logs go to an encrypted log group"
  }
}

run "permissions_name_exactly_each_route" {
  command = apply

  assert {
    condition = output.permission_source_arns == {
      "POST /predictions"     = "arn:aws:execute-api:us-east-1:123456789012:abc123/*/POST/predictions"
      "GET /predictions/{id}" = "arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/predictions/*"
      "ANY /files/{proxy+}"   = "arn:aws:execute-api:us-east-1:123456789012:abc123/*/*/files/*"
      "$default"              = "arn:aws:execute-api:us-east-1:123456789012:abc123/*/$default"
    }
    error_message = "each route's permission names its method and path, path variables as *"
  }

  assert {
    condition     = alltrue([for p in aws_lambda_permission.route : p.principal == "apigateway.amazonaws.com" && p.action == "lambda:InvokeFunction"])
    error_message = "API Gateway may invoke the function, nothing more"
  }
}

run "named_stage_in_source_arns" {
  command = apply

  variables {
    stage_name = "v1"
  }

  assert {
    condition     = output.permission_source_arns["POST /predictions"] == "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/POST/predictions"
    error_message = "a named stage is part of the source ARN"
  }
}

run "rejects_route_to_unknown_integration" {
  command = plan

  variables {
    routes = { "GET /x" = { integration = "missing" } }
  }

  expect_failures = [var.routes]
}

run "rejects_malformed_route_key" {
  command = plan

  variables {
    routes = { "FETCH /x" = { integration = "api" } }
  }

  expect_failures = [var.routes]
}

run "routes_are_authorized_unless_public" {
  command = apply

  assert {
    condition     = aws_apigatewayv2_route.this["POST /predictions"].authorization_type == "CUSTOM"
    error_message = "a non-public route uses the Lambda authorizer"
  }
  assert {
    condition     = aws_apigatewayv2_route.this["POST /predictions"].authorizer_id == aws_apigatewayv2_authorizer.this[0].id
    error_message = "a non-public route names the authorizer"
  }
  assert {
    condition     = aws_apigatewayv2_route.this["$default"].authorization_type == "NONE"
    error_message = "a route marked public is not authorized"
  }
  assert {
    condition     = aws_apigatewayv2_authorizer.this[0].enable_simple_responses && aws_apigatewayv2_authorizer.this[0].authorizer_payload_format_version == "2.0"
    error_message = "a REQUEST authorizer uses payload 2.0 simple responses"
  }
  assert {
    condition     = endswith(aws_lambda_permission.authorizer[0].source_arn, "/authorizers/${aws_apigatewayv2_authorizer.this[0].id}")
    error_message = "API Gateway may invoke the authorizer for this authorizer only"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.server_errors.metric_name == "5xx" && aws_cloudwatch_metric_alarm.server_errors.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:sluice-test-alarms"])
    error_message = "a 5xx alarm to the alarm topic"
  }
}

run "jwt_authorizer" {
  command = plan

  variables {
    authorizer = {
      type     = "JWT"
      issuer   = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example"
      audience = ["client-id"]
    }
  }

  assert {
    condition     = aws_apigatewayv2_route.this["GET /predictions/{id}"].authorization_type == "JWT"
    error_message = "JWT routes"
  }
  assert {
    condition     = length(aws_lambda_permission.authorizer) == 0
    error_message = "no Lambda permission for a JWT authorizer"
  }
}

run "a_private_route_needs_an_authorizer" {
  command = plan

  variables {
    authorizer = null
  }

  expect_failures = [aws_apigatewayv2_route.this]
}
