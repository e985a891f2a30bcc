# One CloudWatch dashboard per environment: a row of alarm status, then one row per pipeline built from what the
# pipeline is made of. The widgets are data (locals) so a pipeline gets its row by listing its parts.

locals {
  width  = 24
  height = 6

  # Every metric line of a widget is [namespace, metric, dimension name, value, {options}]; `metrics` is a list of
  # lines, so the lines of each part are joined with concat(), not flatten() (which would melt them into one list).
  rows = [
    for key in sort(keys(var.pipelines)) : {
      key   = key
      title = coalesce(var.pipelines[key].title, key)
      widgets = [for w in concat(
        [ # functions
          {
            title   = "Lambda: invocations, errors, throttles"
            stacked = false
            metrics = concat([], [
              for fn in var.pipelines[key].functions : [
                ["AWS/Lambda", "Invocations", "FunctionName", fn, { stat = "Sum" }],
                ["AWS/Lambda", "Errors", "FunctionName", fn, { stat = "Sum" }],
                ["AWS/Lambda", "Throttles", "FunctionName", fn, { stat = "Sum" }],
              ]
            ]...)
          },
          {
            title   = "Lambda: duration p50 / p99 (ms)"
            stacked = false
            metrics = concat([], [
              for fn in var.pipelines[key].functions : [
                ["AWS/Lambda", "Duration", "FunctionName", fn, { stat = "p50" }],
                ["AWS/Lambda", "Duration", "FunctionName", fn, { stat = "p99" }],
              ]
            ]...)
          },
        ],
        [ # queues
          {
            title   = "SQS: depth and oldest message age (s)"
            stacked = false
            metrics = concat([], [
              for q in var.pipelines[key].queues : [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name, { stat = "Maximum" }],
                ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.name, { stat = "Maximum", yAxis = "right" }],
              ]
            ]...)
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
            metrics = concat([], [
              for s in var.pipelines[key].streams : [
                ["AWS/Kinesis", "IncomingRecords", "StreamName", s, { stat = "Sum" }],
                ["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", s, { stat = "Maximum", yAxis = "right" }],
              ]
            ]...)
          },
        ],
        [ # state_machines
          {
            title   = "Step Functions: executions"
            stacked = false
            metrics = concat([], [
              for arn in var.pipelines[key].state_machines : [
                for m in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"] :
                ["AWS/States", m, "StateMachineArn", arn, { stat = "Sum" }]
              ]
            ]...)
          },
        ],
        [ # apis
          {
            title   = "HTTP API: requests, 4xx, 5xx, latency p99 (ms)"
            stacked = false
            metrics = concat([], [
              for id in var.pipelines[key].apis : [
                ["AWS/ApiGateway", "Count", "ApiId", id, { stat = "Sum" }],
                ["AWS/ApiGateway", "4xx", "ApiId", id, { stat = "Sum" }],
                ["AWS/ApiGateway", "5xx", "ApiId", id, { stat = "Sum" }],
                ["AWS/ApiGateway", "Latency", "ApiId", id, { stat = "p99", yAxis = "right" }],
              ]
            ]...)
          },
        ],
        [ # metrics
          {
            title   = "Pipeline metrics (EMF)"
            stacked = false
            # A metric counted with extra dimensions (e.g. code) has no series under `service` alone: it is drawn
            # as the SUM of a SEARCH over its dimension values. jsondecode(jsonencode()) lets a metric line (a list)
            # and an expression (an object) share one list, which a conditional of two types would refuse.
            metrics = [
              for i, m in var.pipelines[key].metrics : jsondecode(length(m.dimensions) == 0
                ? jsonencode([var.metrics_namespace, m.name, "service", m.service, { stat = m.stat }])
                : jsonencode({
                  id    = "e${i}"
                  label = "${m.name} (${m.service})"
                  expression = format(
                    "SUM(SEARCH('{%s} MetricName=\"%s\" service=\"%s\"', '%s', %d))",
                    join(",", concat([var.metrics_namespace, "service"], m.dimensions)), m.name, m.service, m.stat, var.period_seconds,
                  )
              }))
            ]
          },
        ],
      ) : w if length(w.metrics) > 0]
    }
  ]

  # Layout: the alarm widgets on top (one per 100 alarms, CloudWatch's limit for one alarm widget), then per
  # pipeline a title line and its widgets, at most 3 per line.
  alarm_chunks = chunklist(sort(distinct(var.alarm_arns)), var.alarms_per_widget)
  alarm_rows   = local.height * length(local.alarm_chunks)
  row_heights = [
    for row in local.rows : 1 + local.height * ceil(length(row.widgets) / 3)
  ]
  row_tops = [
    for i, row in local.rows : local.alarm_rows + sum(concat([0], slice(local.row_heights, 0, i)))
  ]

  alarm_widgets = [
    for i, chunk in local.alarm_chunks : {
      type   = "alarm"
      x      = 0
      y      = i * local.height
      width  = local.width
      height = local.height
      properties = {
        title  = length(local.alarm_chunks) == 1 ? "Alarms" : "Alarms (${i + 1}/${length(local.alarm_chunks)})"
        alarms = chunk
      }
    }
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
  dashboard_body = jsonencode({ widgets = concat(local.alarm_widgets, local.pipeline_widgets) })
}
