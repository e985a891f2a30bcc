"""sluice.idempotency.Once (claim -> act -> mark on the idempotency table) and the local cloud's atomic DynamoDB
writes, with moto."""

from __future__ import annotations

import threading

import boto3
import pytest
from sluice.idempotency import Once

from tests.unit.conftest import IDEMPOTENCY_TABLE


@pytest.fixture
def once(resources):
    now = [1000.0]
    guard = Once(resources.dynamodb, IDEMPOTENCY_TABLE, prefix="test.once", claim_seconds=30, clock=lambda: now[0])
    return guard, now


def test_one_claim_wins_and_the_act_is_done_once(once):
    guard, _ = once
    assert guard.claim("k") == "go"
    assert guard.claim("k") == "busy"  # another caller while the first acts
    guard.done("k")
    assert guard.claim("k") == "done"
    assert guard.claim("other") == "go"


def test_a_released_or_expired_claim_can_be_taken_again(once):
    guard, now = once
    assert guard.claim("k") == "go"
    guard.release("k")
    assert guard.claim("k") == "go"
    now[0] += 31  # the claimer died: its claim expired
    assert guard.claim("k") == "go"
    guard.done("k")
    now[0] += 10_000
    assert guard.claim("k") == "done"  # done stays done


def test_items_carry_the_ttl_and_a_prefixed_hashed_id(once, resources):
    guard, _ = once
    guard.claim("a key with spaces and ünicode")
    [item] = resources.dynamodb.scan(TableName=IDEMPOTENCY_TABLE)["Items"]
    assert item["id"]["S"].startswith("test.once#") and len(item["id"]["S"]) == len("test.once#") + 64
    assert int(item["expiration"]["N"]) == 1000 + 7 * 24 * 3600


def test_concurrent_claims_give_one_go(resources):
    from localcloud.patches import dynamodb as patch

    patch.install()  # the local cloud's atomic writes (moto's conditional put is check-then-write)
    guard = Once(boto3.client("dynamodb", region_name="us-east-1"), IDEMPOTENCY_TABLE, prefix="test.race")
    answers: list[str] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        answers.append(guard.claim("same"))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["busy"] * 7 + ["go"]


def test_concurrent_adds_to_a_new_item_lose_nothing(resources):
    """The fan-out's lost consumer results: moto's UpdateItem on a new item was read-modify-write."""
    from localcloud.patches import dynamodb as patch

    patch.install()
    resources.dynamodb.create_table(
        TableName="jobs", KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    names = [f"c{i}" for i in range(12)]
    for round_ in range(5):
        barrier = threading.Barrier(len(names))

        def add(name: str, job: str = f"job-{round_}", barrier: threading.Barrier = barrier) -> None:
            client = boto3.client("dynamodb", region_name="us-east-1")
            barrier.wait()
            client.update_item(
                TableName="jobs", Key={"job_id": {"S": job}}, UpdateExpression="SET #r = :r ADD done :c",
                ExpressionAttributeNames={"#r": f"result_{name}"}, ExpressionAttributeValues={":r": {"S": name}, ":c": {"SS": [name]}},
            )  # fmt: skip

        threads = [threading.Thread(target=add, args=(n,)) for n in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        item = resources.dynamodb.get_item(TableName="jobs", Key={"job_id": {"S": f"job-{round_}"}})["Item"]
        assert set(item["done"]["SS"]) == set(names)
        assert all(f"result_{n}" in item for n in names)
