"""Pipeline 1, naive: S3 notification -> this function, once per object (seed 001, pattern 1).

Clients are created inside the call, the object is read, totalled and written to the output bucket and a table,
with no conditional write, no batching and no failure handling beyond raising.
"""

import json
import os
from datetime import datetime
from urllib.parse import unquote_plus

import boto3


def handler(event, context):
    s3_client = boto3.client("s3")
    dynamodb = boto3.client("dynamodb")
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        data = json.loads(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8"))
        data["processed_at"] = datetime.now().isoformat()
        if "items" in data:
            data["total_items"] = sum(item["quantity"] for item in data["items"])
            data["total_value"] = round(sum(item["quantity"] * item["price"] for item in data["items"]), 2)
        s3_client.put_object(
            Bucket=os.environ["OUTPUT_BUCKET"],
            Key=f"processed/{key}",
            Body=json.dumps(data),
            ContentType="application/json",
        )
        dynamodb.put_item(
            TableName=os.environ["RESULTS_TABLE"],
            Item={
                "pk": {"S": key},
                "total_items": {"N": str(data.get("total_items", 0))},
                "total_value": {"N": str(data.get("total_value", 0))},
            },
        )
    return {"statusCode": 200, "body": f"processed {len(event['Records'])}"}
