"""Kinesis → Lambda event source mappings with AWS semantics: per-shard order, checkpoints, batching window,
bisect, retries, record age, partial batch responses, on-failure destinations, filters."""

from __future__ import annotations

import base64
import collections
import itertools
import json

import pytest

from localcloud.testing import wait_until
from tests.e2e.localcloud.streams import Consumer

pytestmark = pytest.mark.e2e


class Stream:
    def __init__(self, cloud, name: str, shards: int = 1) -> None:
        self.kinesis = cloud.boto3_client("kinesis")
        self.name = name
        self.kinesis.create_stream(StreamName=name, ShardCount=shards)
        self.arn = self.kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]

    def put(self, *payloads: dict, key=lambda p: str(p.get("user", "k"))) -> list[dict]:
        results = []
        for start in range(0, len(payloads), 500):
            chunk = payloads[start : start + 500]
            response = self.kinesis.put_records(
                StreamName=self.name, Records=[{"Data": json.dumps(p).encode(), "PartitionKey": key(p)} for p in chunk]
            )
            assert response["FailedRecordCount"] == 0
            results.extend(response["Records"])
        return results


def _seqs(batch: dict) -> list[int]:
    return [int(r["kinesis"]["sequenceNumber"]) for r in batch["records"]]


def _bodies(batch: dict) -> list[dict]:
    return [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in batch["records"]]


def test_records_arrive_in_order_per_shard_exactly_once_with_the_aws_event_shape(cloud, role_arn, unique):
    stream = Stream(cloud, unique, shards=2)
    consumer = Consumer(cloud, role_arn, unique)
    users = [f"u{i}" for i in range(8)]
    counters = collections.Counter()

    def payloads(n):
        out = []
        for i in range(n):
            user = users[i % len(users)]
            out.append({"user": user, "n": counters[user]})
            counters[user] += 1
        return out

    put = stream.put(*payloads(100))  # before the mapping: TRIM_HORIZON starts at the first record
    consumer.map(stream.arn, BatchSize=25)
    put += stream.put(*payloads(150))
    total = len(put)
    wait_until(lambda: sum(len(b["records"]) for b in consumer.batches()) >= total, timeout=60, what="all records delivered")
    batches = consumer.batches()
    assert sum(len(b["records"]) for b in batches) == total  # exactly once
    assert max(len(b["records"]) for b in batches) <= 25

    by_shard: dict[str, list[int]] = collections.defaultdict(list)
    per_user: dict[str, list[int]] = collections.defaultdict(list)
    for batch in batches:
        shards = {r["eventID"].split(":")[0] for r in batch["records"]}
        assert len(shards) == 1  # a batch holds one shard's records
        by_shard[shards.pop()].extend(_seqs(batch))
        for body in _bodies(batch):
            per_user[body["user"]].append(body["n"])
    assert len(by_shard) == 2
    for sequence in by_shard.values():
        assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence)
    for user, numbers in per_user.items():
        assert numbers == list(range(counters[user])), user

    record = batches[0]["records"][0]
    assert record["eventSource"] == "aws:kinesis" and record["eventName"] == "aws:kinesis:record"
    assert record["eventSourceARN"] == stream.arn and record["awsRegion"] == "us-east-1"
    assert record["eventID"] == f"{record['eventID'].split(':')[0]}:{record['kinesis']['sequenceNumber']}"
    assert record["invokeIdentityArn"] == role_arn
    assert record["kinesis"]["kinesisSchemaVersion"] == "1.0"
    assert isinstance(record["kinesis"]["approximateArrivalTimestamp"], float)
    assert record["kinesis"]["partitionKey"] in users
    row = wait_until(lambda: (s := consumer.status())["records_done"] == total and s, timeout=10, what="status caught up")
    assert row["succeeded"] == total and row["lag_records"] == 0 and row["shards"] == 2
    assert row["iterator_age_ms"] is not None and row["iterator_age_ms_p99"] is not None


def test_bisect_isolates_one_poison_record_into_the_on_failure_destination(cloud, role_arn, unique):
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    payloads = [{"i": i, "crash": i == 37} for i in range(64)]
    put = stream.put(*payloads)
    consumer.map(
        stream.arn,
        BatchSize=16,
        MaximumBatchingWindowInSeconds=1,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": consumer.failure_arn}},
    )
    failures = wait_until(consumer.failure_records, timeout=60, what="an on-failure record")
    wait_until(lambda: consumer.status()["records_done"] == 64, timeout=30, what="every record done", describe=consumer.status)
    assert len(failures) == 1
    info = failures[0]["KinesisBatchInfo"]
    poison = put[37]["SequenceNumber"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison
    assert info["batchSize"] == 1 and info["shardId"] == put[37]["ShardId"] and info["streamArn"] == stream.arn
    assert failures[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failures[0]["requestContext"]["functionArn"].endswith(f":function:{unique}")
    assert set(info) == {  # metadata only, never the data
        "shardId", "startSequenceNumber", "endSequenceNumber", "approximateArrivalOfFirstRecord",
        "approximateArrivalOfLastRecord", "batchSize", "streamArn",
    }

    processed = [body["i"] for batch in consumer.batches() for body in _bodies(batch)]
    assert sorted(processed) == [i for i in range(64) if i != 37]  # every other record, exactly once
    assert processed == sorted(processed)  # still in order
    assert len(processed) + info["batchSize"] == len(payloads)  # count in = processed + on-failure
    row = consumer.status()
    assert row["succeeded"] == 63 and row["on_failure"] == 1 and row["bisects"] >= 4


def test_partial_batch_response_checkpoints_at_the_lowest_failed_sequence_number(cloud, role_arn, unique):
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    put = stream.put(*[{"i": i, "fail": i == 5} for i in range(10)])
    consumer.map(
        stream.arn,
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": consumer.failure_arn}},
    )
    failures = wait_until(consumer.failure_records, timeout=30, what="an on-failure record")
    batches = consumer.batches()
    assert [[b["i"] for b in _bodies(batch)] for batch in batches] == [list(range(10)), list(range(5, 10))]
    info = failures[0]["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        put[5]["SequenceNumber"],
        put[9]["SequenceNumber"],
        5,
    )
    assert failures[0]["requestContext"]["approximateInvokeCount"] == 2
    row = consumer.status()
    assert row["succeeded"] == 5 and row["on_failure"] == 5 and row["records_done"] == 10

    stream.put({"i": 10})  # the shard moved on past the failed records
    wait_until(lambda: any(b["i"] == 10 for batch in consumer.batches() for b in _bodies(batch)), timeout=20, what="next record")


def test_retries_stop_at_maximum_retry_attempts(cloud, role_arn, unique):
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    stream.put({"i": 0, "crash": True})
    consumer.map(stream.arn, MaximumRetryAttempts=2, DestinationConfig={"OnFailure": {"Destination": consumer.failure_arn}})
    failures = wait_until(consumer.failure_records, timeout=30, what="an on-failure record")
    assert failures[0]["requestContext"]["approximateInvokeCount"] == 3
    row = consumer.status()
    assert row["function_errors"] == 3 and row["retries"] == 2 and row["on_failure"] == 1


def test_records_older_than_maximum_record_age_are_not_retried(cloud, role_arn, unique):
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    stream.put({"i": 0, "crash": True}, {"i": 1})
    consumer.map(stream.arn, MaximumRecordAgeInSeconds=60, DestinationConfig={"OnFailure": {"Destination": consumer.failure_arn}})
    wait_until(lambda: consumer.status()["function_errors"] >= 2, timeout=30, what="retrying (no retry limit)")
    assert consumer.failure_records() == []
    cloud.advance_clock(61)
    failures = wait_until(consumer.failure_records, timeout=30, what="the expired records reported")
    assert failures[0]["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failures[0]["KinesisBatchInfo"]["batchSize"] == 2  # the whole failing batch had expired
    assert consumer.status()["expired"] == 2
    stream.put({"i": 2})
    wait_until(lambda: [b["i"] for batch in consumer.batches() for b in _bodies(batch)] == [2], timeout=20, what="new record")


def test_batching_window_follows_the_clock(cloud, role_arn, unique):
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    consumer.map(stream.arn, BatchSize=100, MaximumBatchingWindowInSeconds=60)
    wait_until(lambda: consumer.status()["shards"] == 1, timeout=10, what="poller started")
    stream.put(*[{"i": i} for i in range(5)])
    with pytest.raises(AssertionError):
        wait_until(consumer.batches, timeout=2, what="no invocation while the window is open")
    cloud.advance_clock(61)
    batches = wait_until(consumer.batches, timeout=20, what="one batch once the window closed")
    assert [len(b["records"]) for b in batches] == [5]


def test_starting_position_latest_skips_earlier_records(cloud, role_arn, unique):
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    stream.put(*[{"i": i} for i in range(3)])
    consumer.map(stream.arn, StartingPosition="LATEST")
    stream.put(*[{"i": i} for i in range(3, 6)])
    wait_until(lambda: sum(len(b["records"]) for b in consumer.batches()) >= 3, timeout=20, what="new records")
    assert [b["i"] for batch in consumer.batches() for b in _bodies(batch)] == [3, 4, 5]


def test_filter_criteria_skip_records_without_invoking(cloud, role_arn, unique):
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    stream.put({"kind": "order", "i": 0}, {"kind": "noise", "i": 1}, {"kind": "order", "i": 2})
    consumer.map(stream.arn, MaximumBatchingWindowInSeconds=1, FilterCriteria={"Filters": [{"Pattern": json.dumps({"data": {"kind": ["order"]}})}]})
    wait_until(lambda: consumer.status()["records_done"] == 3, timeout=20, what="all records done")
    assert [b["i"] for batch in consumer.batches() for b in _bodies(batch)] == [0, 2]
    assert consumer.status()["filtered_out"] == 1


def test_disabled_mapping_keeps_its_checkpoint(cloud, role_arn, unique):
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    stream.put({"i": 0})
    consumer.map(stream.arn)
    wait_until(lambda: consumer.status()["records_done"] == 1, timeout=20, what="first record")
    consumer.lam.update_event_source_mapping(UUID=consumer.mapping, Enabled=False)
    stream.put({"i": 1})
    with pytest.raises(AssertionError):
        wait_until(lambda: consumer.status()["records_done"] == 2, timeout=2, what="nothing while disabled")
    consumer.lam.update_event_source_mapping(UUID=consumer.mapping, Enabled=True)
    wait_until(lambda: consumer.status()["records_done"] == 2, timeout=20, what="resumed")
    assert [b["i"] for batch in consumer.batches() for b in _bodies(batch)] == [0, 1]


def test_starting_position_at_timestamp(cloud, role_arn, unique):
    from datetime import datetime, timedelta

    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    stream.put(*[{"i": i} for i in range(3)])
    cloud.advance_clock(100)
    now = datetime.fromisoformat(cloud.advance_clock(0)["now"])
    stream.put(*[{"i": i} for i in range(3, 5)])
    consumer.map(stream.arn, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=now - timedelta(seconds=50))
    wait_until(lambda: consumer.status()["records_done"] == 2, timeout=20, what="records after the timestamp")
    assert [b["i"] for batch in consumer.batches() for b in _bodies(batch)] == [3, 4]


def test_tags_given_at_creation_are_listed_and_paged_like_aws(cloud, unique):
    """The AWS provider tags a stream in CreateStream; a plan after apply must find those tags (no tags_all drift)."""
    kinesis = cloud.boto3_client("kinesis")
    tags = {"Project": "sluice", "Environment": "local", "ManagedBy": "terraform"}
    kinesis.create_stream(StreamName=unique, ShardCount=1, Tags=tags)
    assert {t["Key"]: t["Value"] for t in kinesis.list_tags_for_stream(StreamName=unique)["Tags"]} == tags

    first = kinesis.list_tags_for_stream(StreamName=unique, Limit=2)
    assert [t["Key"] for t in first["Tags"]] == ["Environment", "ManagedBy"] and first["HasMoreTags"]
    rest = kinesis.list_tags_for_stream(StreamName=unique, Limit=2, ExclusiveStartTagKey="ManagedBy")
    assert [t["Key"] for t in rest["Tags"]] == ["Project"] and not rest["HasMoreTags"]


def _per_key(batches: list[dict]) -> dict[str, list[int]]:
    keys: dict[str, list[int]] = collections.defaultdict(list)
    for batch in batches:
        for body in _bodies(batch):
            keys[body["user"]].append(body["n"])
    return keys


def test_parallelization_factor_runs_batches_of_a_shard_concurrently_in_order_per_partition_key(cloud, role_arn, unique):
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    users = [f"u{i}" for i in range(12)]
    payloads = [{"user": users[i % 12], "n": i // 12, "sleep": 0.05} for i in range(240)]
    put = stream.put(*payloads)
    consumer.map(stream.arn, BatchSize=10, ParallelizationFactor=4)
    wait_until(lambda: consumer.status()["records_done"] == len(put), timeout=90, what="every record done", describe=consumer.status)
    batches = consumer.batches()
    assert sum(len(b["records"]) for b in batches) == len(put)  # exactly once
    assert max(len(b["records"]) for b in batches) <= 10
    assert _per_key(batches) == {user: list(range(20)) for user in users}  # each key's records in order

    # One key's records are never in two batches at once; batches of different keys were.
    spans: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    for batch in batches:
        for user in {body["user"] for body in _bodies(batch)}:
            spans[user].append((batch["started"], batch["ended"]))
    for user, times in spans.items():
        times.sort()
        assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(times)), user
    ordered = sorted((b["started"], b["ended"]) for b in batches)
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(ordered)), "no two batches overlapped"

    row = consumer.status()
    assert row["parallelization_factor"] == 4 and row["succeeded"] == len(put) and row["lag_records"] == 0
    assert list(row["checkpoints"].values()) == [len(put)]


def test_parallel_lanes_checkpoint_at_the_lowest_unfinished_record(cloud, role_arn, unique):
    """A failing batch holds its own lane only: the other keys go on, the checkpoint stays before the failure, and
    the poisoned key's later records wait behind it (order per key) until the failing records expire."""
    stream = Stream(cloud, unique)
    consumer = Consumer(cloud, role_arn, unique)
    users = ["poisoned"] + [f"u{i}" for i in range(8)]
    payloads = [{"user": "poisoned", "n": 0, "crash": True}]
    payloads += [{"user": users[i % 9], "n": 1 + i // 9} for i in range(45)]
    put = stream.put(*payloads)
    consumer.map(
        stream.arn,
        BatchSize=5,
        ParallelizationFactor=3,
        MaximumRecordAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": consumer.failure_arn}},
    )
    row = wait_until(
        lambda: (s := consumer.status())["function_errors"] >= 2 and s["succeeded"] >= 10 and s,
        timeout=60,
        what="other lanes past the failing batch",
        describe=consumer.status,
    )
    assert list(row["checkpoints"].values()) == [0]  # the lowest record not done
    assert row["on_failure"] == 0 and consumer.failure_records() == []
    assert "poisoned" not in _per_key(consumer.batches())  # nothing of that key before its first record

    cloud.advance_clock(61)
    wait_until(lambda: consumer.status()["records_done"] == len(put), timeout=60, what="every record done", describe=consumer.status)
    failures = consumer.failure_records()
    row = consumer.status()
    assert failures and all(f["requestContext"]["condition"] == "RecordAgeExceeded" for f in failures)
    assert min(int(f["KinesisBatchInfo"]["startSequenceNumber"]) for f in failures) == int(put[0]["SequenceNumber"])
    delivered = _per_key(consumer.batches())
    failed = sum(f["KinesisBatchInfo"]["batchSize"] for f in failures)
    assert sum(len(numbers) for numbers in delivered.values()) + failed == len(put)  # count in = delivered + on-failure
    for numbers in delivered.values():
        assert numbers == sorted(numbers)
    assert row["succeeded"] + row["on_failure"] == len(put) and list(row["checkpoints"].values()) == [len(put)]


def test_bisect_isolates_one_poison_record_with_parallel_lanes(cloud, role_arn, unique):
    stream = Stream(cloud, unique, shards=2)
    consumer = Consumer(cloud, role_arn, unique)
    users = [f"u{i}" for i in range(8)]
    payloads = [{"user": users[i % 8], "n": i // 8, "crash": i == 37} for i in range(96)]
    put = stream.put(*payloads)
    consumer.map(
        stream.arn,
        BatchSize=8,
        ParallelizationFactor=3,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": consumer.failure_arn}},
    )
    wait_until(lambda: consumer.status()["records_done"] == len(put), timeout=90, what="every record done", describe=consumer.status)
    failures = consumer.failure_records()
    assert len(failures) == 1
    info = failures[0]["KinesisBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == put[37]["SequenceNumber"]
    assert info["batchSize"] == 1 and info["shardId"] == put[37]["ShardId"]
    delivered = _per_key(consumer.batches())
    poisoned = payloads[37]
    expected = {user: list(range(12)) for user in users}
    expected[poisoned["user"]].remove(poisoned["n"])
    assert delivered == expected  # every other record exactly once, each key in order
    row = consumer.status()
    assert row["succeeded"] == len(put) - 1 and row["on_failure"] == 1 and row["bisects"] >= 3
