mock_provider "aws" {}

variables {
  name   = "sluice-test"
  region = "eu-west-1"
  pipelines = {
    ingest = {
      functions = ["sluice-test-ingest-processor"]
      queues    = [{ name = "sluice-test-ingest", dlq_name = "sluice-test-ingest-dlq" }]
      metrics   = [{ name = "ObjectsProcessed", service = "ingest_processor" }]
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

run "rejects_an_empty_dashboard" {
  command = plan

  variables {
    pipelines = {}
  }

  expect_failures = [var.pipelines]
}
