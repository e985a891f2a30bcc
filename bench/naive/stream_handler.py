"""Pipeline 5, naive: Kinesis -> this function with BatchSize 1 (one invocation per transaction), in the style of
seed 001's stream processor and seed 004's fraud rule.

Every call creates its clients, downloads the model and builds an ONNX Runtime session; then, for its record, it
reads the user's state (GetItem), scores the transaction against it (the seed's rule and the model), writes the
state back (PutItem) and, for a suspected fraud, writes an alert (PutItem) and publishes it (one PutEvents per
alert). The features and the rule are the project's own (``sluice_ml.fraud`` from the ml layer), so both sides
answer the same question; only the style of the function differs.
"""

import base64
import json
import os

import boto3
import numpy as np
import onnxruntime as ort
from sluice_ml import fraud


def state_from_item(item):
    return fraud.UserState(
        user_id=item["user_id"]["S"],
        last_lat=float(item["last_lat"]["N"]),
        last_lon=float(item["last_lon"]["N"]),
        last_time=float(item["last_time"]["N"]),
        count=int(item["txn_count"]["N"]),
        amount_mean=float(item["amount_mean"]["N"]),
        amount_max=float(item["amount_max"]["N"]),
    )


def state_item(state):
    return {
        "user_id": {"S": state.user_id},
        "last_lat": {"N": str(state.last_lat)},
        "last_lon": {"N": str(state.last_lon)},
        "last_time": {"N": str(state.last_time)},
        "txn_count": {"N": str(state.count)},
        "amount_mean": {"N": str(state.amount_mean)},
        "amount_max": {"N": str(state.amount_max)},
    }


def score(record, state, rule, session, threshold):
    """(new state, assessment, model score, reasons) of one transaction against its user's state."""
    txn = fraud.Txn.from_record(record)
    assessment = fraud.assess(txn, state, rule)
    probability = None
    if session is not None:
        _, probabilities = session.run(None, {"input": np.asarray([assessment.vector], dtype=np.float32)})
        probability = round(float(np.asarray(probabilities)[0, 1]), 6)
    reasons = []
    if assessment.rule_hit:
        reasons.append("impossible_travel_high_amount")
    if probability is not None and probability >= threshold:
        reasons.append("model_score")
    new_state = state.advance(txn) if state is not None else fraud.UserState.first(txn)
    return new_state, assessment, probability, reasons


def handler(event, context):
    dynamodb = boto3.client("dynamodb")
    s3_client = boto3.client("s3")
    events_client = boto3.client("events")
    model = s3_client.get_object(Bucket=os.environ["MODEL_BUCKET"], Key=os.environ["MODEL_KEY"])["Body"].read()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    rule = fraud.Rule()
    for record in event["Records"]:
        data = json.loads(base64.b64decode(record["kinesis"]["data"]))
        found = dynamodb.get_item(
            TableName=os.environ["STATE_TABLE"], Key={"user_id": {"S": data["user_id"]}}
        ).get("Item")
        state = state_from_item(found) if found else None
        new_state, _, probability, reasons = score(data, state, rule, session, float(os.environ["THRESHOLD"]))
        if reasons:
            alert = {
                "transaction_id": data["transaction_id"],
                "user_id": data["user_id"],
                "amount": data["amount"],
                "score": probability,
                "reasons": reasons,
            }
            dynamodb.put_item(
                TableName=os.environ["ALERTS_TABLE"],
                Item={"pk": {"S": data["transaction_id"]}, "alert": {"S": json.dumps(alert)}},
            )
            events_client.put_events(
                Entries=[
                    {
                        "Source": "naive.fraud",
                        "DetailType": "FraudSuspected",
                        "Detail": json.dumps(alert),
                        "EventBusName": os.environ["BUS_NAME"],
                    }
                ]
            )
        dynamodb.put_item(TableName=os.environ["STATE_TABLE"], Item=state_item(new_state))
    return {"statusCode": 200}
