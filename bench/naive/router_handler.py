"""Pipeline 2, naive router: an EventBridge rule invokes this function once per submitted record (seed 001,
pattern 2). It creates its client per call and publishes one event per PutEvents call."""

import json
import os

import boto3


def handler(event, context):
    events_client = boto3.client("events")
    record = event["detail"]
    data_type = record.get("data_type") if isinstance(record.get("data_type"), str) else "unknown"
    events_client.put_events(
        Entries=[
            {
                "Source": "naive.router",
                "DetailType": "Record Routed",
                "Detail": json.dumps(
                    {
                        "record_id": record.get("record_id"),
                        "data_type": data_type,
                        "payload": record.get("payload"),
                    }
                ),
                "EventBusName": os.environ["BUS_NAME"],
            }
        ]
    )
    return {"statusCode": 200, "body": f"routed {record.get('record_id')} to {data_type}"}
