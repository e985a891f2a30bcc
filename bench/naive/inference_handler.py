"""Pipeline 3, naive: S3 notification -> this function, once per image (seed 004, "Async Image Classifier").

Every call creates its clients, downloads the model and builds an ONNX Runtime session before classifying its one
image, and writes the result to a table. The image preprocessing is the project's own (``sluice_ml.preprocess``
from the ml layer) so both sides answer the same question; only the style of the function differs.
"""

import os
from urllib.parse import unquote_plus

import boto3
import numpy as np
import onnxruntime as ort
from sluice_ml import preprocess


def handler(event, context):
    s3_client = boto3.client("s3")
    dynamodb = boto3.client("dynamodb")
    model = s3_client.get_object(Bucket=os.environ["MODEL_BUCKET"], Key=os.environ["MODEL_KEY"])[
        "Body"
    ].read()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        image = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        label, probabilities = session.run(
            None, {"input": preprocess.features(image)[None, :].astype(np.float32)}
        )
        dynamodb.put_item(
            TableName=os.environ["RESULTS_TABLE"],
            Item={
                "pk": {"S": key},
                "label": {"N": str(int(label[0]))},
                "probabilities": {"S": str(probabilities[0])},
            },
        )
    return {"statusCode": 200}
