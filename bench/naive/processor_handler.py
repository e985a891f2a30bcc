"""Pipeline 2, naive processor: one SQS message per invocation (BatchSize 1), a client per call, one write."""

import json
import os

import boto3


def handler(event, context):
    dynamodb = boto3.client("dynamodb")
    for record in event["Records"]:
        detail = json.loads(record["body"])["detail"]
        dynamodb.put_item(
            TableName=os.environ["RESULTS_TABLE"],
            Item={
                "record_id": {"S": detail["record_id"]},
                "data_type": {"S": detail["data_type"]},
                "payload": {"S": json.dumps(detail["payload"])},
            },
        )
    return {"statusCode": 200}
