data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # Built from the name so that the policy can be set inline on the topic (no separate aws_sns_topic_policy).
  topic_arn = "arn:${data.aws_partition.current.partition}:sns:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${var.name}"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          # Same-account principals keep the access their IAM policies give them (what the default topic
          # policy provides), limited to topic administration, publishing and subscribing.
          Sid       = "AccountAccess"
          Effect    = "Allow"
          Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
          Action = [
            "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
            "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish",
          ]
          Resource = local.topic_arn
        },
        {
          Sid       = "DenyInsecureTransport"
          Effect    = "Deny"
          Principal = "*"
          Action    = "sns:Publish"
          Resource  = local.topic_arn
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
      ],
      [
        for p in var.publishers : {
          Sid       = "Allow${join("", [for part in split(".", p.service) : title(part)])}"
          Effect    = "Allow"
          Principal = { Service = p.service }
          Action    = "sns:Publish"
          Resource  = local.topic_arn
          Condition = {
            ArnLike      = { "aws:SourceArn" = p.source_arns }
            StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
          }
        }
      ],
    )
  })
}

resource "aws_sns_topic" "this" {
  name              = var.name
  kms_master_key_id = var.kms_key_arn
  policy            = local.policy
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.email_subscriptions)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}
