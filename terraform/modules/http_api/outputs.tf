output "api_id" {
  description = "API id."
  value       = aws_apigatewayv2_api.this.id
}

output "api_endpoint" {
  description = "The API's default endpoint (https://<api id>.execute-api.<region>.amazonaws.com)."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "execution_arn" {
  description = "Execution ARN prefix of the API (for Lambda permissions and IAM policies)."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "stage_name" {
  description = "Stage name."
  value       = aws_apigatewayv2_stage.this.name
}

output "invoke_url" {
  description = "URL that serves the stage (for $default, the endpoint itself)."
  value       = aws_apigatewayv2_stage.this.invoke_url
}

output "route_ids" {
  description = "Route ids by route key."
  value       = { for key, route in aws_apigatewayv2_route.this : key => route.id }
}

output "integration_ids" {
  description = "Integration ids by integration key."
  value       = { for key, integration in aws_apigatewayv2_integration.lambda : key => integration.id }
}

output "permission_source_arns" {
  description = "The source ARN of each route's Lambda permission, by route key."
  value       = local.route_source_arns
}

output "access_log_group_name" {
  description = "Access log group of the stage."
  value       = aws_cloudwatch_log_group.access.name
}

output "throttling" {
  description = "Default route throttling as applied: burst_limit, rate_limit."
  value = {
    burst_limit = one(aws_apigatewayv2_stage.this.default_route_settings).throttling_burst_limit
    rate_limit  = one(aws_apigatewayv2_stage.this.default_route_settings).throttling_rate_limit
  }
}

output "authorizer_id" {
  description = "Id of the API's authorizer (null without one)."
  value       = one(aws_apigatewayv2_authorizer.this[*].id)
}

output "alarm_arns" {
  description = "ARNs of the API's alarms (5xx)."
  value       = [aws_cloudwatch_metric_alarm.server_errors.arn]
}

output "alarm_names" {
  description = "Names of the API's alarms (5xx)."
  value       = [aws_cloudwatch_metric_alarm.server_errors.alarm_name]
}

output "route_authorization" {
  description = "Authorization type of every route, by route key (CUSTOM, JWT, or NONE for a route marked public)."
  value       = { for key, route in aws_apigatewayv2_route.this : key => route.authorization_type }
}
