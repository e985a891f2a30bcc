data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix
  root_arn   = "arn:${local.partition}:iam::${local.account_id}:root"

  # Key policies are built with jsonencode (not aws_iam_policy_document) so that the document is known at plan
  # time and can be asserted on in `terraform test` with a mocked provider.
  statements = concat(
    [
      {
        # Administration by the account (root), which delegates access control to IAM policies; without it
        # nobody, not even an administrator, could manage the key. Cryptographic use is deliberately NOT part of
        # this statement: data keys are only used through the services below, never by direct API calls.
        # In a key policy, Resource "*" means "this key".
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = distinct(concat([local.root_arn], var.administrator_arns)) }
        Action = [
          "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
          "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
          "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
        ]
        Resource = "*"
      },
    ],
    length(var.via_services) == 0 ? [] : [
      {
        # S3 (SSE-KMS with bucket keys), SQS, SNS and DynamoDB call KMS on behalf of the principal using them.
        # Allowed only through those services and only for this account's principals, who also need IAM
        # permission (kms:Decrypt / kms:GenerateDataKey on this key) since the principal is the account.
        Sid       = "UseThroughAwsServices"
        Effect    = "Allow"
        Principal = { AWS = local.root_arn }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
        Condition = {
          StringEquals = {
            "kms:CallerAccount" = local.account_id
            "kms:ViaService"    = [for s in var.via_services : "${s}.${local.region}.${local.dns_suffix}"]
          }
        }
      },
    ],
    contains(var.via_services, "dynamodb") ? [
      {
        # DynamoDB reads the key's metadata to validate it (AWS documented statement for CMK-encrypted tables).
        Sid       = "DynamoDbDescribeKey"
        Effect    = "Allow"
        Principal = { Service = "dynamodb.${local.dns_suffix}" }
        Action    = ["kms:DescribeKey"]
        Resource  = "*"
      },
    ] : [],
    length(var.service_principals) == 0 ? [] : [
      {
        # Services that write into encrypted resources on our behalf: EventBridge delivering to an encrypted
        # SQS queue or SNS topic, CloudWatch alarms publishing to an encrypted topic, SNS to encrypted SQS,
        # S3 notifications to encrypted queues. aws:SourceAccount guards against the confused deputy.
        Sid       = "ServicePrincipalsDeliverEncrypted"
        Effect    = "Allow"
        Principal = { Service = var.service_principals }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ],
    length(var.log_group_name_patterns) == 0 ? [] : [
      {
        # CloudWatch Logs encrypts log groups associated with the key; the encryption context names the log
        # group, so access is limited to our log groups.
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.${local.dns_suffix}" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = [
              for p in var.log_group_name_patterns : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${p}"
            ]
          }
        }
      },
    ],
  )
}

resource "aws_kms_key" "this" {
  description             = var.description
  key_usage               = "ENCRYPT_DECRYPT"
  deletion_window_in_days = var.deletion_window_in_days
  enable_key_rotation     = true
  rotation_period_in_days = var.rotation_period_in_days
  policy                  = jsonencode({ Version = "2012-10-17", Statement = local.statements })
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
