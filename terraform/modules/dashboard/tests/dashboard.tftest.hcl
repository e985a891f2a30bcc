mock_provider "aws" {}

variables {
  name   = "sluice-test"
  region = "eu-west-1"
  pipelines = {
    ingest = {
      functions = ["sluice-test-ingest-processor"]
      queues    = [{ name = "sluice-test-ingest", dlq_name = "sluice-test-ingest-dlq" }]
      metrics = [
        { name = "ObjectsProcessed", service = "ingest_processor" },
        { name = "ObjectsRejected", service = "ingest_processor", dimensions = ["code"] },
      ]
    }
    documents = {
      title          = "Documents"
      state_machines = ["arn:aws:states:eu-west-1:123456789012:stateMachine:sluice-test-documents"]
      apis           = ["a1b2c3d4e5"]
    }
  }
  alarm_arns = ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:sluice-test-ingest-dlq-depth"]
}

run "one_row_per_pipeline" {
  command = plan

  assert {
    # alarms + (title + 5 widgets for ingest) + (title + 2 widgets for documents)
    condition     = output.widget_count == 1 + 6 + 3
    error_message = "every part of every pipeline has its widget"
  }

  assert {
    condition = contains(
      flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : try(w.properties.metrics, [])]),
      "sluice-test-ingest-dlq",
    )
    error_message = "the DLQ depth is on the dashboard"
  }

  assert {
    # CloudWatch wants `metrics` as an array of lines (arrays) or expressions (objects), never one flat array.
    condition = alltrue(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : [
        for m in w.properties.metrics : can(m.expression) || can(m[3])
      ] if w.type == "metric"
    ]))
    error_message = "every metric of every widget is a line of its own or an expression"
  }

  assert {
    condition = alltrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      w.x + w.width <= 24 && w.y >= 0
    ])
    error_message = "every widget fits the 24-column grid"
  }

  assert {
    condition = length(distinct([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : "${w.x},${w.y}"
    ])) == output.widget_count
    error_message = "no two widgets share a position"
  }
}

run "dimensioned_metrics_are_summed_over_their_values" {
  command = plan

  assert {
    condition = anytrue([
      for m in concat([], [for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.metrics if w.type == "metric"]...) :
      try(m.expression, "") == "SUM(SEARCH('{Sluice,service,code} MetricName=\"ObjectsRejected\" service=\"ingest_processor\"', 'Sum', 60))"
    ])
    error_message = "a metric counted with extra dimensions is a SUM(SEARCH()) over them"
  }

  assert {
    condition = anytrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      contains(w.properties.metrics, ["Sluice", "ObjectsProcessed", "service", "ingest_processor", { stat = "Sum" }]) if w.type == "metric"
    ])
    error_message = "a metric with only the service dimension is a plain metric line"
  }
}

run "more_than_100_alarms_get_several_widgets" {
  command = plan

  variables {
    alarm_arns = [for i in range(250) : format("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:sluice-test-%03d", i)]
  }

  assert {
    condition     = output.alarm_widget_count == 3
    error_message = "250 alarms take 3 status widgets (100 + 100 + 50)"
  }

  assert {
    condition = alltrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : length(w.properties.alarms) <= 100 if w.type == "alarm"
    ])
    error_message = "no status widget shows more than 100 alarms"
  }

  assert {
    condition     = length(output.alarm_arns) == 250 && toset(output.alarm_arns) == toset(var.alarm_arns)
    error_message = "every alarm is in exactly one status widget"
  }

  assert {
    condition = length(distinct([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : "${w.x},${w.y}"
    ])) == output.widget_count
    error_message = "the status widgets and the pipeline rows do not overlap"
  }

  assert {
    condition     = min([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.y if w.type != "alarm"]...) == 3 * 6
    error_message = "the pipeline rows start below the last status widget"
  }
}

run "rejects_more_than_100_alarms_per_widget" {
  command = plan

  variables {
    alarms_per_widget = 101
  }

  expect_failures = [var.alarms_per_widget]
}

run "rejects_an_empty_dashboard" {
  command = plan

  variables {
    pipelines = {}
  }

  expect_failures = [var.pipelines]
}
