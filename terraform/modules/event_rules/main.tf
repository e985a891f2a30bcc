locals {
  # Normalised rules (defaults applied, patterns encoded).
  rules = {
    for name, r in var.rules : name => {
      event_bus_name      = try(r.event_bus_name, "default")
      description         = try(r.description, null)
      state               = try(r.state, "ENABLED")
      schedule_expression = try(r.schedule_expression, null)
      event_pattern = (
        try(r.event_pattern, null) == null ? null :
        can(tostring(r.event_pattern)) ? tostring(r.event_pattern) : jsonencode(r.event_pattern)
      )
    }
  }

  # One entry per (rule, target), keyed "<rule>/<target id>".
  targets = merge([
    for name, r in var.rules : {
      for id, t in lookup(r, "targets", {}) : "${name}/${id}" => {
        rule                 = name
        event_bus_name       = local.rules[name].event_bus_name
        target_id            = id
        arn                  = t.arn
        role_arn             = try(t.role_arn, null)
        input                = try(t.input, null)
        input_path           = try(t.input_path, null)
        input_transformer    = try(t.input_transformer, null)
        dead_letter_arn      = try(t.dead_letter_arn, null)
        retry_policy         = try(t.retry_policy, null)
        sqs_message_group_id = try(t.sqs_message_group_id, null)
      }
    }
  ]...)
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.rules

  name                = each.key
  description         = each.value.description
  event_bus_name      = each.value.event_bus_name
  event_pattern       = each.value.event_pattern
  schedule_expression = each.value.schedule_expression
  state               = each.value.state
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.targets

  rule           = aws_cloudwatch_event_rule.this[each.value.rule].name
  event_bus_name = each.value.event_bus_name
  target_id      = each.value.target_id
  arn            = each.value.arn
  role_arn       = each.value.role_arn
  input          = each.value.input
  input_path     = each.value.input_path

  dynamic "input_transformer" {
    for_each = each.value.input_transformer == null ? [] : [each.value.input_transformer]
    content {
      input_paths    = try(input_transformer.value.input_paths, null)
      input_template = input_transformer.value.input_template
    }
  }

  dynamic "dead_letter_config" {
    for_each = each.value.dead_letter_arn == null ? [] : [each.value.dead_letter_arn]
    content {
      arn = dead_letter_config.value
    }
  }

  dynamic "retry_policy" {
    for_each = each.value.retry_policy == null ? [] : [each.value.retry_policy]
    content {
      maximum_event_age_in_seconds = try(retry_policy.value.maximum_event_age_in_seconds, null)
      maximum_retry_attempts       = try(retry_policy.value.maximum_retry_attempts, null)
    }
  }

  dynamic "sqs_target" {
    for_each = each.value.sqs_message_group_id == null ? [] : [each.value.sqs_message_group_id]
    content {
      message_group_id = sqs_target.value
    }
  }
}
