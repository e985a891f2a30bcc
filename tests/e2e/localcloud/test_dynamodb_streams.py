"""DynamoDB Streams → Lambda event source mappings: record shape per StreamViewType, order, retries, bisect and
on-failure records."""

from __future__ import annotations

import pytest

from localcloud.testing import wait_until
from tests.e2e.localcloud.streams import Consumer

pytestmark = pytest.mark.e2e


def _table(cloud, name: str, view_type: str) -> tuple[object, str]:
    ddb = cloud.boto3_client("dynamodb")
    description = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
    )["TableDescription"]
    return ddb, description["LatestStreamArn"]


def _records(consumer: Consumer) -> list[dict]:
    return [record for batch in consumer.batches() for record in batch["records"]]


def test_insert_modify_remove_with_new_and_old_images(cloud, role_arn, unique):
    ddb, stream_arn = _table(cloud, unique, "NEW_AND_OLD_IMAGES")
    consumer = Consumer(cloud, role_arn, unique)
    consumer.map(stream_arn, BatchSize=10)
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    ddb.put_item(TableName=unique, Item={**key, "v": {"S": "one"}})
    ddb.update_item(TableName=unique, Key=key, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "two"}})
    ddb.delete_item(TableName=unique, Key=key)
    records = wait_until(lambda: len(r := _records(consumer)) >= 3 and r, timeout=30, what="three stream records")
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = (r["dynamodb"] for r in records)
    assert insert["Keys"] == modify["Keys"] == remove["Keys"] == key
    assert insert["NewImage"]["v"] == {"S": "one"} and "OldImage" not in insert
    assert modify["OldImage"]["v"] == {"S": "one"} and modify["NewImage"]["v"] == {"S": "two"}
    assert remove["OldImage"]["v"] == {"S": "two"} and "NewImage" not in remove
    sequences = [int(d["SequenceNumber"]) for d in (insert, modify, remove)]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    for record in records:
        assert record["eventSource"] == "aws:dynamodb" and record["eventSourceARN"] == stream_arn
        assert record["awsRegion"] == "us-east-1" and record["eventVersion"] == "1.1"
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
        assert record["dynamodb"]["SizeBytes"] > 0


def test_keys_only_stream_carries_no_images(cloud, role_arn, unique):
    ddb, stream_arn = _table(cloud, unique, "KEYS_ONLY")
    consumer = Consumer(cloud, role_arn, unique)
    consumer.map(stream_arn)
    ddb.put_item(TableName=unique, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "x"}})
    record = wait_until(lambda: _records(consumer), timeout=30, what="a stream record")[0]
    assert record["eventName"] == "INSERT"
    assert set(record["dynamodb"]) == {"ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes", "StreamViewType"}


def test_new_image_stream_in_write_order_across_many_items(cloud, role_arn, unique):
    ddb, stream_arn = _table(cloud, unique, "NEW_IMAGE")
    for i in range(30):  # before the mapping: TRIM_HORIZON reads them too
        ddb.put_item(TableName=unique, Item={"pk": {"S": f"u{i % 3}"}, "sk": {"N": str(i)}})
    consumer = Consumer(cloud, role_arn, unique)
    consumer.map(stream_arn, BatchSize=7)
    for i in range(30, 60):
        ddb.put_item(TableName=unique, Item={"pk": {"S": f"u{i % 3}"}, "sk": {"N": str(i)}})
    records = wait_until(lambda: len(r := _records(consumer)) >= 60 and r, timeout=60, what="sixty records")
    assert [int(r["dynamodb"]["NewImage"]["sk"]["N"]) for r in records] == list(range(60))
    assert max(len(b["records"]) for b in consumer.batches()) <= 7


def test_poison_item_is_bisected_out_to_the_on_failure_destination(cloud, role_arn, unique):
    ddb, stream_arn = _table(cloud, unique, "NEW_IMAGE")
    for i in range(20):
        item = {"pk": {"S": "p"}, "sk": {"N": str(i)}}
        if i == 13:
            item["crash"] = {"BOOL": True}
        ddb.put_item(TableName=unique, Item=item)
    consumer = Consumer(cloud, role_arn, unique)
    consumer.map(
        stream_arn,
        BatchSize=20,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": consumer.failure_arn}},
    )
    failures = wait_until(consumer.failure_records, timeout=60, what="an on-failure record")
    wait_until(lambda: consumer.status()["records_done"] == 20, timeout=30, what="all records done", describe=consumer.status)
    assert len(failures) == 1
    info = failures[0]["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == stream_arn
    assert failures[0]["requestContext"]["approximateInvokeCount"] == 2  # one retry of the isolated record
    processed = [int(r["dynamodb"]["NewImage"]["sk"]["N"]) for r in _records(consumer)]
    assert processed == [i for i in range(20) if i != 13]
    assert len(processed) + info["batchSize"] == 20


def test_partial_batch_response_on_a_dynamodb_stream(cloud, role_arn, unique):
    ddb, stream_arn = _table(cloud, unique, "NEW_IMAGE")
    for i in range(6):
        item = {"pk": {"S": "p"}, "sk": {"N": str(i)}}
        if i == 3:
            item["fail"] = {"BOOL": True}
        ddb.put_item(TableName=unique, Item=item)
    consumer = Consumer(cloud, role_arn, unique)
    consumer.map(
        stream_arn,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": consumer.failure_arn}},
    )
    failures = wait_until(consumer.failure_records, timeout=30, what="an on-failure record")
    assert failures[0]["DDBStreamBatchInfo"]["batchSize"] == 3  # from the failed record to the end of the batch
    row = consumer.status()
    assert row["succeeded"] == 3 and row["on_failure"] == 3
