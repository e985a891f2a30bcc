# A dashboard for one queue-driven pipeline and one stream pipeline.

terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

module "dashboard" {
  source = "../.."

  name   = "sluice-example"
  region = "us-east-1"
  pipelines = {
    ingest = {
      title     = "Ingest"
      functions = ["sluice-example-ingest-processor"]
      queues    = [{ name = "sluice-example-ingest", dlq_name = "sluice-example-ingest-dlq" }]
      metrics = [
        { name = "ObjectsProcessed", service = "ingest_processor" },
        { name = "ObjectsRejected", service = "ingest_processor", dimensions = ["code"] },
      ]
    }
    stream = {
      functions = ["sluice-example-scorer"]
      streams   = ["sluice-example-transactions"]
    }
  }
  alarm_arns = ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:sluice-example-ingest-dlq-depth"]
}

output "dashboard_name" {
  value = module.dashboard.name
}
