# One CloudWatch dashboard per environment: a row of alarm status, then one row per pipeline built from what the
# pipeline is made of. The widgets are data (locals) so a pipeline gets its row by listing its parts.

locals {
  width  = 24
  height = 6

  # Every metric line of a widget is [namespace, metric, dimension name, value, {options}].
  rows = [
    for key in sort(keys(var.pipelines)) : {
      key   = key
      title = coalesce(var.pipelines[key].title, key)
      widgets = [for w in concat(
        [ # functions
          {
            title   = "Lambda: invocations, errors, throttles"
            stacked = false
            metrics = flatten([
              for fn in var.pipelines[key].functions : [
                ["AWS/Lambda", "Invocations", "FunctionName", fn, { stat = "Sum" }],
                ["AWS/Lambda", "Errors", "FunctionName", fn, { stat = "Sum" }],
                ["AWS/Lambda", "Throttles", "FunctionName", fn, { stat = "Sum" }],
              ]
            ])
          },
          {
            title   = "Lambda: duration p50 / p99 (ms)"
            stacked = false
            metrics = flatten([
              for fn in var.pipelines[key].functions : [
                ["AWS/Lambda", "Duration", "FunctionName", fn, { stat = "p50" }],
                ["AWS/Lambda", "Duration", "FunctionName", fn, { stat = "p99" }],
              ]
            ])
          },
        ],
        [ # queues
          {
            title   = "SQS: depth and oldest message age (s)"
            stacked = false
            metrics = flatten([
              for q in var.pipelines[key].queues : [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name, { stat = "Maximum" }],
                ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.name, { stat = "Maximum", yAxis = "right" }],
              ]
            ])
          },
          {
            title   = "Dead-letter queues: depth (should be 0)"
            stacked = true
            metrics = [
              for q in var.pipelines[key].queues :
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.dlq_name, { stat = "Maximum" }]
            ]
          },
        ],
        [ # streams
          {
            title   = "Kinesis: incoming records and iterator age (ms)"
            stacked = false
            metrics = flatten([
              for s in var.pipelines[key].streams : [
                ["AWS/Kinesis", "IncomingRecords", "StreamName", s, { stat = "Sum" }],
                ["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", s, { stat = "Maximum", yAxis = "right" }],
              ]
            ])
          },
        ],
        [ # state_machines
          {
            title   = "Step Functions: executions"
            stacked = false
            metrics = flatten([
              for arn in var.pipelines[key].state_machines : [
                for m in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"] :
                ["AWS/States", m, "StateMachineArn", arn, { stat = "Sum" }]
              ]
            ])
          },
        ],
        [ # apis
          {
            title   = "HTTP API: requests, 4xx, 5xx, latency p99 (ms)"
            stacked = false
            metrics = flatten([
              for id in var.pipelines[key].apis : [
                ["AWS/ApiGateway", "Count", "ApiId", id, { stat = "Sum" }],
                ["AWS/ApiGateway", "4xx", "ApiId", id, { stat = "Sum" }],
                ["AWS/ApiGateway", "5xx", "ApiId", id, { stat = "Sum" }],
                ["AWS/ApiGateway", "Latency", "ApiId", id, { stat = "p99", yAxis = "right" }],
              ]
            ])
          },
        ],
        [ # metrics
          {
            title   = "Pipeline metrics (EMF)"
            stacked = false
            metrics = [
              for m in var.pipelines[key].metrics :
              [var.metrics_namespace, m.name, "service", m.service, { stat = m.stat }]
            ]
          },
        ],
      ) : w if length(w.metrics) > 0]
    }
  ]

  # Layout: the alarm widget on top, then per pipeline a title line and its widgets, at most 3 per line.
  alarm_rows = length(var.alarm_arns) == 0 ? 0 : local.height
  row_heights = [
    for row in local.rows : 1 + local.height * ceil(length(row.widgets) / 3)
  ]
  row_tops = [
    for i, row in local.rows : local.alarm_rows + sum(concat([0], slice(local.row_heights, 0, i)))
  ]

  alarm_widget = length(var.alarm_arns) == 0 ? [] : [
    {
      type   = "alarm"
      x      = 0
      y      = 0
      width  = local.width
      height = local.height
      properties = {
        title  = "Alarms"
        alarms = sort(var.alarm_arns)
      }
    },
  ]

  pipeline_widgets = flatten([
    for i, row in local.rows : concat(
      [
        {
          type       = "text"
          x          = 0
          y          = local.row_tops[i]
          width      = local.width
          height     = 1
          properties = { markdown = "## ${row.title}" }
        },
      ],
      [
        for j, w in row.widgets : {
          type   = "metric"
          x      = (j % 3) * 8
          y      = local.row_tops[i] + 1 + floor(j / 3) * local.height
          width  = 8
          height = local.height
          properties = {
            title   = w.title
            region  = var.region
            view    = "timeSeries"
            stacked = w.stacked
            period  = var.period_seconds
            metrics = w.metrics
          }
        }
      ],
    )
  ])
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = concat(local.alarm_widget, local.pipeline_widgets) })
}
