"""The Kinesis on-failure redrive (sluicectl/kinesis_redrive.py) against moto's Kinesis, SQS and DynamoDB, with a
stand-in for the function that behaves as the fraud scorer does: records in order, a record that cannot be parsed
fails with every record after it (the whole invocation when it is first), and a sequence number already applied
is skipped."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import boto3
import pytest

from sluicectl import kinesis_redrive
from tests.unit.conftest import REGION

STREAM = "sluice-test-transactions"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:sluice-test-fraud-scorer"
TABLE = "sluice-test-failures"


class FakeScorer:
    def __init__(self) -> None:
        self.applied: dict[str, int] = {}
        self.invocations: list[list[str]] = []

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
        assert FunctionName == "sluice-test-fraud-scorer"
        records = json.loads(Payload)["Records"]
        sequences = [r["kinesis"]["sequenceNumber"] for r in records]
        self.invocations.append(sequences)
        for index, record in enumerate(records):
            assert record["eventID"] == f"{record['eventID'].split(':')[0]}:{sequences[index]}"
            try:
                json.loads(base64.b64decode(record["kinesis"]["data"]))
            except ValueError:
                if index == 0:
                    error = {"errorType": "BatchProcessingError", "errorMessage": "UnscorableRecord: data is not base64 JSON"}
                    return {"FunctionError": "Unhandled", "Payload": io.BytesIO(json.dumps(error).encode())}
                failures = [{"itemIdentifier": s} for s in sequences[index:]]
                return {"Payload": io.BytesIO(json.dumps({"batchItemFailures": failures}).encode())}
            self.applied.setdefault(sequences[index], 0)
            self.applied[sequences[index]] += 0 if self.applied[sequences[index]] else 1  # de-duplicated by sequence
        return {"Payload": io.BytesIO(b'{"batchItemFailures": []}')}


@pytest.fixture
def setup(aws: None) -> dict[str, Any]:
    kinesis = boto3.client("kinesis", region_name=REGION)
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    arn = kinesis.describe_stream(StreamName=STREAM)["StreamDescription"]["StreamARN"]
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="sluice-test-fraud-scorer-failures")["QueueUrl"]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pipeline", "KeyType": "HASH"}, {"AttributeName": "item_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pipeline", "AttributeType": "S"}, {"AttributeName": "item_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return {"kinesis": kinesis, "sqs": sqs, "dynamodb": dynamodb, "arn": arn, "url": url}


def _put(kinesis: Any, data: list[bytes]) -> list[tuple[str, str]]:
    response = kinesis.put_records(StreamName=STREAM, Records=[{"Data": d, "PartitionKey": f"u{i}"} for i, d in enumerate(data)])
    return [(r["ShardId"], r["SequenceNumber"]) for r in response["Records"]]


def _on_failure(sqs: Any, url: str, arn: str, shard: str, start: str, end: str, size: int) -> None:
    body = {
        "requestContext": {"requestId": "r", "functionArn": FUNCTION_ARN, "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "KinesisBatchInfo": {"shardId": shard, "startSequenceNumber": start, "endSequenceNumber": end, "batchSize": size, "streamArn": arn},
    }
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def _clients(setup: dict[str, Any], scorer: FakeScorer):
    return lambda service: scorer if service == "lambda" else setup[service]


def test_a_range_is_reread_reprocessed_once_and_what_still_fails_gets_a_failure_record(setup) -> None:
    kinesis, sqs = setup["kinesis"], setup["sqs"]
    good = [json.dumps({"transaction_id": f"t{i}"}).encode() for i in range(5)]
    data = [good[0], good[1], b'{"transaction_id": "t-poison", "amount": ', good[2], good[3], good[4]]
    positions = _put(kinesis, [b"before", *data, b"after"])[1:-1]
    shard = positions[0][0]
    _on_failure(sqs, setup["url"], setup["arn"], shard, positions[0][1], positions[-1][1], len(data))
    scorer = FakeScorer()
    scorer.applied[positions[1][1]] = 1  # the attempt that failed had applied the second record already

    result = kinesis_redrive.redrive(_clients(setup, scorer), setup["url"], failures_table=TABLE, pipeline="stream", batch_size=100)

    assert (result.ranges, result.records, result.reprocessed, result.kept) == (1, 6, 5, 0)
    assert scorer.applied == {positions[i][1]: 1 for i in (0, 1, 3, 4, 5)}  # each once: the applied one was skipped
    assert [s.sequence for s in result.stuck] == [positions[2][1]]
    assert scorer.invocations.count([positions[2][1]]) == kinesis_redrive.SINGLE_ATTEMPTS  # isolated, tried alone
    rows = setup["dynamodb"].scan(TableName=TABLE)["Items"]
    assert len(rows) == 1
    row = rows[0]
    assert row["item_id"]["S"] == f"{STREAM}/{shard}/{positions[2][1]}"
    assert "UnscorableRecord" in row["reason"]["S"] and row["error_code"]["S"] == "unprocessable_record"
    assert base64.b64decode(row["data_b64"]["S"]) == data[2]  # the record itself, beyond the stream's retention
    assert sqs.receive_message(QueueUrl=setup["url"]).get("Messages") is None  # the on-failure record is done

    again = kinesis_redrive.redrive(_clients(setup, scorer), setup["url"], failures_table=TABLE, pipeline="stream")
    assert (again.ranges, again.records) == (0, 0)


def test_a_range_the_stream_no_longer_holds_in_full_is_kept(setup) -> None:
    positions = _put(setup["kinesis"], [b'{"a": 1}', b'{"a": 2}'])
    shard = positions[0][0]
    _on_failure(setup["sqs"], setup["url"], setup["arn"], shard, positions[0][1], positions[1][1], 5)  # 3 trimmed
    scorer = FakeScorer()
    result = kinesis_redrive.redrive(_clients(setup, scorer), setup["url"], failures_table=TABLE, pipeline="stream")
    assert (result.ranges, result.kept, result.reprocessed) == (1, 1, 0) and not scorer.invocations
    assert len(setup["sqs"].receive_message(QueueUrl=setup["url"], MaxNumberOfMessages=10)["Messages"]) == 1


def test_dry_run_moves_nothing_and_other_messages_are_not_ranges(setup) -> None:
    positions = _put(setup["kinesis"], [b'{"a": 1}'])
    _on_failure(setup["sqs"], setup["url"], setup["arn"], positions[0][0], positions[0][1], positions[0][1], 1)
    assert kinesis_redrive.is_on_failure_queue(setup["sqs"], setup["url"])
    scorer = FakeScorer()
    result = kinesis_redrive.redrive(_clients(setup, scorer), setup["url"], failures_table=TABLE, pipeline="stream", dry_run=True)
    assert (result.ranges, result.records, scorer.invocations) == (1, 1, [])
    assert kinesis_redrive.parse_range({"Body": '{"detail": {}}'}) is None
    assert kinesis_redrive.parse_range({"Body": "not json"}) is None
    setup["sqs"].send_message(QueueUrl=setup["url"], MessageBody="an SQS message")
    assert not kinesis_redrive.is_on_failure_queue(setup["sqs"], setup["url"])


def test_sluicectl_dlq_redrive_takes_a_kinesis_on_failure_queue(setup, monkeypatch) -> None:
    from typer.testing import CliRunner

    from sluicectl import ops_cli
    from sluicectl.cli import app

    positions = _put(setup["kinesis"], [b'{"a": 1}', b'{"a": 2}'])
    _on_failure(setup["sqs"], setup["url"], setup["arn"], positions[0][0], positions[0][1], positions[1][1], 2)
    scorer = FakeScorer()
    original = ops_cli.Context.client
    monkeypatch.setattr(ops_cli.Context, "client", lambda self, service: scorer if service == "lambda" else original(self, service))
    runner = CliRunner()
    dry = runner.invoke(app, ["dlq", "redrive", "fraud-scorer-failures", "--dry-run", "--env", "dev", "--prefix", "sluice-test"])
    assert dry.exit_code == 0 and "would reprocess 2 record(s) of 1 range(s)" in dry.output, dry.output
    real = runner.invoke(app, ["dlq", "redrive", "fraud-scorer-failures", "--env", "dev", "--prefix", "sluice-test"])
    assert real.exit_code == 0 and "2 reprocessed" in real.output, real.output
    assert set(scorer.applied) == {p[1] for p in positions}
