"""The cost model (bench/cost.py) against numbers worked out by hand from the price table.

Hand-checked prices (us-east-1, bench/prices.json): Lambda $0.20 per 1M requests and $0.0000166667 per GB-s;
SQS $0.40 per 1M requests; EventBridge $1.00 per 1M custom events; DynamoDB $0.625 per 1M WRU and $0.125 per 1M
RRU; S3 $0.005 per 1,000 PUTs and $0.0004 per 1,000 GETs; Kinesis $0.015 per shard-hour and $0.014 per 1M PUT
payload units; Step Functions $0.025 per 1,000 transitions; Fargate $0.04048 per vCPU-hour, $0.004445 per GB-hour.
"""

from __future__ import annotations

import json

import pytest

from bench import cost

TABLE = cost.load_prices()


def usd(usage: dict[str, float]) -> float:
    return cost.bill(usage, TABLE)["usd"]


def test_price_table_has_its_date_region_and_a_source_for_every_price() -> None:
    assert TABLE["region"] == "us-east-1"
    assert TABLE["as_of"]
    for name, row in TABLE["prices"].items():
        assert row["source"].startswith("https://aws.amazon.com/"), name
        assert row["usd"] > 0 and row["per"] >= 1, name


def test_lambda_requests_and_gb_seconds() -> None:
    # 1M invocations of 100 ms at 512 MB: 1M x $0.20/1M = $0.20; 1M x 0.1 s x 0.5 GB = 50,000 GB-s x $0.0000166667
    # = $0.833335. Total $1.033335.
    usage = cost.lambda_usage(1, 100, 512)
    assert usage == {"lambda_requests": 1, "lambda_gb_seconds": 0.05}
    result = cost.bill(usage, TABLE)
    assert result["lines"]["lambda_requests"]["usd"] == pytest.approx(0.20)
    assert result["lines"]["lambda_gb_seconds"]["quantity"] == pytest.approx(50_000)
    assert result["lines"]["lambda_gb_seconds"]["usd"] == pytest.approx(0.833335)
    assert result["usd"] == pytest.approx(1.033335)


def test_measured_lambda_divides_invocations_by_events() -> None:
    # 100 invocations of 300 ms billed at 256 MB for 1,000 events: 0.1 invocation and 0.1 x 0.3 x 0.25 = 0.0075
    # GB-s per event.
    usage = cost.measured_lambda({"invocations": 100, "mean_billed_ms": 300, "memory_mb": 256}, 1000)
    assert usage["lambda_requests"] == pytest.approx(0.1)
    assert usage["lambda_gb_seconds"] == pytest.approx(0.0075)
    assert cost.measured_lambda({"invocations": 0}, 1000) == {}


def test_aws_billed_ms_stretches_the_cpu_time_to_the_functions_share_of_a_vcpu() -> None:
    # 100 ms measured on a whole core, 40 of them CPU: at 442.25 MB (a quarter of 1,769) the CPU part takes 4x as
    # long and the 60 ms of waiting stay: 60 + 160.
    figures = {"mean_billed_ms": 100, "mean_cpu_ms": 40, "memory_mb": 442.25}
    assert cost.aws_billed_ms(figures) == pytest.approx(220)
    # Threads that used 150 ms of CPU in 100 ms locally share the one quarter of a vCPU: 600 ms, no waiting left.
    assert cost.aws_billed_ms({**figures, "mean_cpu_ms": 150}) == pytest.approx(600)
    # One vCPU or more, or no CPU reading: the measured duration stands.
    assert cost.aws_billed_ms({**figures, "memory_mb": 1769}) == 100
    assert cost.aws_billed_ms({**figures, "memory_mb": 3008}) == 100
    assert cost.aws_billed_ms({"mean_billed_ms": 100, "memory_mb": 256}) == 100


def test_measured_lambda_bills_the_aws_duration_and_takes_a_modelled_invocation_count() -> None:
    figures = {"invocations": 100, "mean_billed_ms": 100, "mean_cpu_ms": 40, "memory_mb": 442.25}
    usage = cost.measured_lambda(figures, 1000)
    assert usage["lambda_gb_seconds"] == pytest.approx(0.1 * 0.220 * 442.25 / 1024)
    twice = cost.measured_lambda(figures, 1, invocations=2)  # e.g. two API calls per image
    assert twice["lambda_requests"] == 2
    assert twice["lambda_gb_seconds"] == pytest.approx(2 * 0.220 * 442.25 / 1024)


@pytest.mark.parametrize(
    ("batch", "message_bytes", "requests"),
    [
        (10, 1024, 1.2),  # send 1 + receive 1/10 + delete 1/10
        (1, 1024, 3.0),  # send, receive, delete per message
        (10, 10 * 1024, 1.3),  # a batch of 100 KB is 2 receive chunks: 1 + 2/10 + 1/10
        (1, 100 * 1024, 5.0),  # 100 KB = 2 chunks to send and to receive, 1 delete
    ],
)
def test_sqs_requests_per_message(batch: int, message_bytes: int, requests: float) -> None:
    assert cost.sqs_usage(batch, message_bytes)["sqs_requests"] == pytest.approx(requests)


def test_sqs_batched_vs_not_per_million() -> None:
    assert usd(cost.sqs_usage(10)) == pytest.approx(0.48)  # 1.2M requests x $0.40/1M
    assert usd(cost.sqs_usage(1)) == pytest.approx(1.20)  # 3M requests


def test_eventbridge_entries_in_64_kb_chunks() -> None:
    assert usd(cost.eventbridge_usage(2, 1024)) == pytest.approx(2.00)
    assert cost.eventbridge_usage(1, 100 * 1024)["eventbridge_events"] == 2
    assert cost.eventbridge_usage(1, 64 * 1024)["eventbridge_events"] == 1


def test_dynamodb_request_units() -> None:
    assert usd(cost.dynamodb_writes(1, 1500)) == pytest.approx(1.25)  # 2 WRU x 1M x $0.625/1M
    assert usd(cost.dynamodb_reads(1, 1024)) == pytest.approx(0.0625)  # 0.5 RRU (eventually consistent)
    assert usd(cost.dynamodb_reads(1, 9000, consistent=True)) == pytest.approx(0.375)  # 3 RRU


def test_s3_requests() -> None:
    assert usd(cost.s3_usage(puts=2, gets=1)) == pytest.approx(10.40)  # 2M x $5/1M + 1M x $0.40/1M


def test_kinesis_shards_and_units() -> None:
    assert cost.kinesis_shards(500, 1024) == 1
    assert cost.kinesis_shards(2500, 1024) == 3  # 2,500 records/s over 1,000 per shard
    assert cost.kinesis_shards(500, 10 * 1024) == 5  # 5,000 KB/s over 1 MiB/s per shard
    usage = cost.kinesis_usage(1024, 500)
    # 1M records at 500/s take 2,000 s = 0.5556 h on 1 shard: $0.008333; 1M PUT units x $0.014/1M = $0.014.
    result = cost.bill(usage, TABLE)
    assert result["lines"]["kinesis_shard_hours"]["usd"] == pytest.approx(0.0083333, rel=1e-4)
    assert result["lines"]["kinesis_put_units"]["usd"] == pytest.approx(0.014)
    assert cost.kinesis_usage(30 * 1024, 10)["kinesis_put_units"] == 2


def test_step_functions_transitions() -> None:
    assert usd(cost.stepfunctions_usage(5)) == pytest.approx(125.0)  # 5M transitions x $0.025/1,000


def test_ingest_ours_vs_naive_hand_checked() -> None:
    # Ours: batches of 10, 300 ms billed per batch at 256 MB: requests $0.02, GB-s 7,500 x $0.0000166667 = $0.125,
    # S3 2 PUT + 1 GET $10.40, DynamoDB 1 WRU $0.625, SQS 1.2 requests (2 KB events) $0.48: $11.650.
    ours = cost.ingest_usage(cost.lambda_usage(0.1, 300, 256), queue_batch=10)
    assert usd(ours) == pytest.approx(11.650, abs=1e-3)
    # Naive: 1 invocation of 120 ms per object at 256 MB: requests $0.20, GB-s 30,000 x $0.0000166667 = $0.5,
    # same S3 and DynamoDB, no queue: $11.725.
    naive = cost.ingest_usage(cost.lambda_usage(1, 120, 256), queue_batch=None)
    assert usd(naive) == pytest.approx(11.725, abs=1e-3)
    compared = cost.compare(ours, naive, TABLE)
    assert compared["ratio_naive_to_ours"] == pytest.approx(11.725 / 11.650, abs=1e-3)
    assert compared["region"] == "us-east-1"


def test_routing_has_two_events_per_record_on_both_sides() -> None:
    ours = cost.routing_usage(
        cost.lambda_usage(0.1, 100, 256), cost.lambda_usage(0.1, 50, 256), router_batch=10, processor_batch=10
    )
    naive = cost.routing_usage(
        cost.lambda_usage(1, 40, 256), cost.lambda_usage(1, 30, 256), router_batch=None, processor_batch=1
    )
    assert ours["eventbridge_events"] == naive["eventbridge_events"] == 2
    assert ours["sqs_requests"] == pytest.approx(2.4)  # two queues, batched
    assert naive["sqs_requests"] == pytest.approx(3.0)  # one queue, one message per invocation
    # Naive: Lambda 2M requests $0.40 + GB-s (0.04 + 0.03) x 0.25 x 1M = 17,500 x $0.0000166667 = $0.291667;
    # EventBridge $2; SQS 3M $1.20; DynamoDB $0.625: $4.516667.
    assert usd(naive) == pytest.approx(4.516667, abs=1e-5)


def test_inference_naive_downloads_the_model_every_call() -> None:
    api = cost.lambda_usage(2, 10, 256)
    naive = cost.inference_usage(api, cost.lambda_usage(1, 200, 1024), queue_batch=None, model_gets=1)
    ours = cost.inference_usage(api, cost.lambda_usage(0.1, 400, 1024), queue_batch=10, model_gets=0)
    assert naive["s3_get"] == 2 and ours["s3_get"] == 1
    # Ours: the job written by the API, its result, its event marked published; naive: the result.
    assert ours["dynamodb_wru"] == 3 and naive["dynamodb_wru"] == 1
    assert ours["eventbridge_events"] == 1 and "eventbridge_events" not in naive


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(KeyError):
        cost.bill({"carrier_pigeons": 1}, TABLE)


def test_fargate_crossover_hand_checked() -> None:
    # Task: 1 vCPU x $0.04048 + 2 GB x $0.004445 = $0.04937/h; at 0.6 utilisation and 10 ms per event it does 60
    # events/s, so $0.04937 / (60 x 3600) = $2.2856e-7 per event past the floor of 2 tasks ($0.09874/h).
    # Lambda at $1e-6 per event costs more per event: the crossover is 0.09874 / (3600 x 1e-6) = 27.4 events/s.
    result = cost.fargate_crossover(1e-6, 0.010, TABLE)
    assert result["task_usd_per_hour"] == pytest.approx(0.04937)
    assert result["task_events_per_s"] == pytest.approx(60.0)
    assert result["crossover_events_per_s"] == pytest.approx(27.4, abs=0.05)
    # Lambda cheaper per event than a busy task: no crossover.
    assert cost.fargate_crossover(1e-7, 0.010, TABLE)["crossover_events_per_s"] is None


def test_prices_file_is_valid_json_with_every_unit_the_builders_use() -> None:
    units = set(json.loads(cost.PRICES.read_text())["prices"])
    used = set(cost.ingest_usage({}, queue_batch=1)) | set(
        cost.routing_usage({}, {}, router_batch=1, processor_batch=1)
    )
    used |= set(cost.inference_usage({}, {}, queue_batch=1, model_gets=1)) | set(cost.kinesis_usage(1, 1))
    assert used <= units


def test_kinesis_vs_sqs_crossover_hand_checked() -> None:
    # SQS in batches of 10: 1.2 requests x $0.40/1M = $4.8e-7 per event; Kinesis: 1 PUT unit x $0.014/1M = $1.4e-8
    # per event plus $0.015 / 3600 = $4.1667e-6 per second for the shard: 4.1667e-6 / (4.8e-7 - 1.4e-8) = 8.94/s.
    assert cost.kinesis_vs_sqs_crossover(TABLE) == pytest.approx(8.941, abs=0.001)
    # One message per invocation (3 requests per event): $1.2e-6 per event, so the shard pays off sooner.
    assert cost.kinesis_vs_sqs_crossover(TABLE, batch_size=1) == pytest.approx(3.513, abs=0.001)


def test_lambda_at_one_vcpu_and_the_fargate_crossover_for_a_cpu_bound_pipeline() -> None:
    # 30 ms of CPU per event in batches of 10: 0.1 request ($2e-8) + 0.03 s x 1769/1024 GB = 0.051826 GB-s
    # ($8.6377e-7): $8.8377e-7 per event. A task does 0.6 / 0.03 = 20 events/s at $0.04937/h: $6.857e-7 per
    # event, cheaper, so the crossover is the 2-task floor: 2 x 0.04937 / (3600 x 8.8377e-7) = 31.0 events/s.
    per_event = cost.lambda_usd_per_event_at_one_vcpu(0.030, 0.1, TABLE)
    assert per_event == pytest.approx(8.8377e-7, rel=1e-4)
    result = cost.fargate_crossover(per_event, 0.030, TABLE)
    assert result["task_events_per_s"] == pytest.approx(20.0)
    assert result["crossover_events_per_s"] == pytest.approx(31.0, abs=0.1)


def test_documents_ours_vs_naive_hand_checked() -> None:
    # A design with 5 step invocations, 0.2 GB-s, 9 transitions (a starter machine 1 + workflow 8), text through S3, half PDFs, a
    # 2 KB result item. Lambda 5 x $0.20 + 0.2 x 1M x $0.0000166667 = $1 + $3.33334; transitions 9M x $0.025/1,000
    # = $225; S3 3 PUT ($15) + 4.5 GET ($1.80); DynamoDB 2 WRU $1.25; SNS $0.50. Total $247.88334.
    ours = cost.documents_usage(
        {"lambda_requests": 5, "lambda_gb_seconds": 0.2},
        transitions=9,
        pdf_share=0.5,
        validation_step=True,
        text_in_s3=True,
        result_item_bytes=2 * 1024,
    )
    assert ours["s3_put"] == 3 and ours["s3_get"] == 4.5 and ours["stepfunctions_transitions"] == 9
    assert usd(ours) == pytest.approx(247.88334, abs=1e-4)
    # Naive: 7 invocations (trigger + 6 steps), 0.3 GB-s, 6 transitions, text in the state: 2 PUT, 2.5 GET.
    # Lambda $1.40 + $5.00001; transitions $150; S3 $10 + $1; DynamoDB $0.625; SNS $0.50. Total $168.52501.
    naive = cost.documents_usage(
        {"lambda_requests": 7, "lambda_gb_seconds": 0.3}, transitions=6, pdf_share=0.5, validation_step=True, text_in_s3=False
    )
    assert usd(naive) == pytest.approx(168.52501, abs=1e-4)
    # The naive workflow costs less here: the ratio says so (below 1), it is not hidden.
    assert cost.compare(ours, naive, TABLE)["ratio_naive_to_ours"] == pytest.approx(0.680, abs=1e-3)


def test_express_workflows_bill_requests_and_rounded_duration() -> None:
    assert cost.express_billed_seconds(0.23) == 0.3
    assert cost.express_billed_seconds(0.3) == 0.3
    assert cost.express_billed_seconds(0.0) == 0.1
    assert cost.express_billed_seconds(1.01) == 1.1
    # 1M executions of 0.3 s at 64 MB: $1.00 requests + 18,750 GB-s x $0.06 / 3,600 = $0.3125.
    usage = cost.express_usage(1, 0.3)
    assert usage["stepfunctions_express_gb_seconds"] == pytest.approx(0.3 * 64 / 1024)
    assert usd(usage) == pytest.approx(1.3125)


def test_documents_with_a_nested_express_analysis_hand_checked() -> None:
    # Ours: a start function + 5 steps = 6 invocations, 0.2 GB-s, 5 Standard transitions, one Express analysis of
    # 0.3 s billed. Lambda $1.20 + $3.33334; transitions $125; Express $1.3125; S3 3 PUT ($15) + 4.5 GET ($1.80);
    # DynamoDB 2 WRU $1.25; SNS $0.50. Total $149.39584, below the naive $168.52501 above: naive costs x1.128.
    ours = cost.documents_usage(
        {"lambda_requests": 6, "lambda_gb_seconds": 0.2},
        transitions=5,
        pdf_share=0.5,
        validation_step=True,
        text_in_s3=True,
        result_item_bytes=2 * 1024,
        express=cost.express_usage(1, 0.3),
    )
    assert usd(ours) == pytest.approx(149.39584, abs=1e-4)
    naive = cost.documents_usage(
        {"lambda_requests": 7, "lambda_gb_seconds": 0.3}, transitions=6, pdf_share=0.5, validation_step=True, text_in_s3=False
    )
    assert cost.compare(ours, naive, TABLE)["ratio_naive_to_ours"] == pytest.approx(1.128, abs=1e-3)


def test_documents_checked_by_the_extract_step_with_small_texts_inline_hand_checked() -> None:
    # Ours now: a start function + 4 steps = 5 invocations, 0.2 GB-s, 4 Standard transitions, one Express analysis
    # of 0.3 s billed, no validation step, the text written once and read back for 10 % of documents (2 reads
    # each). Lambda $1.00 + $3.33334; transitions $100; Express $1.3125; S3 3 PUT ($15) + 1.2 GET ($0.48);
    # DynamoDB 2 WRU $1.25; SNS $0.50. Total $122.87584: naive ($168.52501) costs x1.372.
    ours = cost.documents_usage(
        {"lambda_requests": 5, "lambda_gb_seconds": 0.2},
        transitions=4,
        pdf_share=0.5,
        validation_step=False,
        text_in_s3=True,
        text_reads=0.2,
        result_item_bytes=2 * 1024,
        express=cost.express_usage(1, 0.3),
    )
    assert ours["s3_put"] == 3 and ours["s3_get"] == pytest.approx(1.2)
    assert usd(ours) == pytest.approx(122.87584, abs=1e-4)
    naive = cost.documents_usage(
        {"lambda_requests": 7, "lambda_gb_seconds": 0.3}, transitions=6, pdf_share=0.5, validation_step=True, text_in_s3=False
    )
    assert cost.compare(ours, naive, TABLE)["ratio_naive_to_ours"] == pytest.approx(1.372, abs=1e-3)


def test_stream_usage_per_record_and_per_batch() -> None:
    # 1,000 records/s of 300 bytes on 2 shards: 1 PUT unit ($0.014 per 1M), 2 / 1,000 / 3,600 shard-hours a record
    # (1M records: 0.5556 h x $0.015 = $0.008333); one state read (0.5 RRU, $0.0625) and write ($0.625); 4 %
    # alerts: 0.04 WRU ($0.025) and 0.04 events ($0.04). Compute 0.01 request + 0.001 GB-s: $0.002 + $0.0166667.
    usage = cost.stream_usage(
        {"lambda_requests": 0.01, "lambda_gb_seconds": 0.001},
        record_bytes=300,
        rate_per_s=1000,
        shards=2,
        alerts_per_record=0.04,
    )
    assert usage["kinesis_put_units"] == 1
    assert usage["dynamodb_rru"] == pytest.approx(0.5)
    assert usage["dynamodb_wru"] == pytest.approx(1.04)
    assert usd(usage) == pytest.approx(0.014 + 0.008333 + 0.0625 + 0.65 + 0.04 + 0.002 + 0.0166667, abs=1e-5)
    # Batched state I/O: half as many reads and writes per record, everything else the same.
    batched = cost.stream_usage(
        {"lambda_requests": 0.01, "lambda_gb_seconds": 0.001},
        record_bytes=300,
        rate_per_s=1000,
        shards=2,
        alerts_per_record=0.04,
        state_reads=0.5,
        state_writes=0.5,
    )
    assert usd(usage) - usd(batched) == pytest.approx(0.03125 + 0.3125, abs=1e-6)
    # Without a shard count, the write limits decide: 1 shard at 1,000 records/s.
    assert cost.stream_usage({}, record_bytes=300, rate_per_s=1000, alerts_per_record=0)[
        "kinesis_shard_hours"
    ] == pytest.approx(1 / 1000 / 3600)


def test_kinesis_consumer_shards() -> None:
    # BatchSize 1 at 100 ms: 10 concurrent batches per shard (ParallelizationFactor 10) = 100 records/s per shard,
    # so 1,000 records/s needs 10 shards; batches of 100 at 200 ms do 5,000 records/s on one shard.
    assert cost.kinesis_consumer_shards(1000, 100, 1) == 10
    assert cost.kinesis_consumer_shards(1000, 200, 100) == 1
    assert cost.kinesis_consumer_shards(1001, 100, 1) == 11


def test_distinct_users_per_record() -> None:
    assert cost.distinct_per_record(1000, 1) == 1.0
    # 2 users, batches of 2: expected distinct 2 x (1 - 1/4) = 1.5 -> 0.75 per record.
    assert cost.distinct_per_record(2, 2) == pytest.approx(0.75)
    # 1,000 users, batches of 100: 1,000 x (1 - 0.999^100) / 100 = 0.952.
    assert cost.distinct_per_record(1000, 100) == pytest.approx(0.9521, abs=1e-4)
