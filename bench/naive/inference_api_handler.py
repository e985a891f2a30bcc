"""Pipeline 3, naive: the HTTP API in front of the naive worker (seed 004, "Async Image Classifier": "a simple web
endpoint to accept image uploads, saving to cloud storage", and "a second endpoint to query the classification
result by image ID"). One function for both routes, as a Flask app would be; clients created per call.

    POST /images              the image as the body -> S3 uploads/<image id> -> 202 {"image_id": ...}
    GET  /results/{image_id}  the worker's row -> 200 {"status": "succeeded", "label": ...}, or 404 until then
"""

import base64
import json
import os
import uuid

import boto3


def handler(event, context):
    route = event.get("routeKey")
    if route == "POST /images":
        s3_client = boto3.client("s3")
        body = event.get("body") or ""
        image = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
        image_id = str(uuid.uuid4())
        s3_client.put_object(Bucket=os.environ["IMAGES_BUCKET"], Key=f"uploads/{image_id}", Body=image)
        return {"statusCode": 202, "body": json.dumps({"image_id": image_id})}
    if route == "GET /results/{image_id}":
        dynamodb = boto3.client("dynamodb")
        image_id = event["pathParameters"]["image_id"]
        item = dynamodb.get_item(
            TableName=os.environ["RESULTS_TABLE"], Key={"pk": {"S": f"uploads/{image_id}"}}
        ).get("Item")
        if item is None:
            return {"statusCode": 404, "body": json.dumps({"image_id": image_id, "status": "pending"})}
        return {
            "statusCode": 200,
            "body": json.dumps({"image_id": image_id, "status": "succeeded", "label": int(item["label"]["N"])}),
        }
    return {"statusCode": 404, "body": json.dumps({"message": "Not Found"})}
