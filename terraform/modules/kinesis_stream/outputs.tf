output "name" {
  description = "Stream name."
  value       = aws_kinesis_stream.this.name
}

output "arn" {
  description = "Stream ARN (the event source of a Lambda mapping)."
  value       = aws_kinesis_stream.this.arn
}

output "stream_mode" {
  description = "PROVISIONED or ON_DEMAND."
  value       = var.stream_mode
}

output "shard_count" {
  description = "Shards of a provisioned stream (null on demand)."
  value       = local.on_demand ? null : aws_kinesis_stream.this.shard_count
}

output "encryption" {
  description = "Server-side encryption as applied: encryption_type, kms_key_id."
  value = {
    encryption_type = aws_kinesis_stream.this.encryption_type
    kms_key_id      = aws_kinesis_stream.this.kms_key_id
  }
}

output "alarms" {
  description = "The stream's alarms as applied: metric, threshold and actions."
  value = {
    for k, a in { iterator_age = aws_cloudwatch_metric_alarm.iterator_age, write_throttled = aws_cloudwatch_metric_alarm.write_throttled } : k => {
      alarm_name               = a.alarm_name
      metric_name              = a.metric_name
      stream_name              = a.dimensions.StreamName
      threshold                = a.threshold
      alarm_actions            = a.alarm_actions
    }
  }
}

output "alarm_names" {
  description = "Names of the stream's alarms."
  value       = [aws_cloudwatch_metric_alarm.iterator_age.alarm_name, aws_cloudwatch_metric_alarm.write_throttled.alarm_name]
}
