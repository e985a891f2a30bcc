"""The AWS bill per 1 million events of each pipeline, from measured figures and the price table (prices.json).

A pipeline's usage is a mapping of billing units (the keys of prices.json: ``lambda_requests``,
``lambda_gb_seconds``, ``sqs_requests``, ``eventbridge_events``, ...) to quantities per event; ``bill`` multiplies
by the prices and by 1,000,000. The builders below turn what a benchmark measured (Lambda invocations, mean
billed duration and configured memory; batch sizes; message and item sizes) into usage, for our configuration
and for the naive baseline, with the same rules on both sides:

* Lambda: one request per invocation; GB-seconds = billed duration x configured memory / 1024 (init time of
  the few cold starts and the free tier are left out). The billed duration is the one AWS would bill
  (``aws_billed_ms``): the local runtime gives every function a whole core, where Lambda gives it a share of a
  vCPU in proportion to its memory, so the CPU time each invocation measured is stretched by that share and the
  rest of its duration (waiting on requests) is kept;
* SQS: one SendMessage per message (each 64 KB chunk a request), one ReceiveMessage and one DeleteMessageBatch
  per batch the poller hands to the function; the pollers' empty long polls are a fixed cost per queue and hour,
  not per event, and are left out;
* EventBridge: one event per entry of a custom bus (64 KB chunks); S3's events on the default bus are free;
* DynamoDB on demand: a write is ceil(item / 1 KB) WRU, an eventually consistent read ceil(item / 4 KB) / 2 RRU;
* S3: PUT and GET requests (storage and transfer are left out: the same bytes on both sides);
* Kinesis: PUT payload units of 25 KB per record and shard-hours for the shards a sustained rate needs;
* Step Functions: Standard workflows, state transitions per execution; Express workflows, one request per
  execution and GB-seconds of its duration rounded up to 100 ms, at the memory it uses in 64 MB chunks.

Prices are not fetched at run time: the table carries its date, region and the pages it was read from.
No library models AWS prices offline; the arithmetic is small, so it is written here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PRICES = Path(__file__).resolve().parent / "prices.json"
EVENTS = 1_000_000
KB = 1024
SQS_CHUNK = EVENTBRIDGE_CHUNK = SNS_CHUNK = 64 * KB
KINESIS_PUT_UNIT = 25 * KB
KINESIS_SHARD_RECORDS_PER_S = 1000  # write limit per shard: 1,000 records/s or 1 MiB/s
KINESIS_SHARD_BYTES_PER_S = 1024 * KB

Usage = dict[str, float]


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    """The price table: {"region", "as_of", "prices": {unit: {"usd", "per", "unit", "source"}}}."""
    return json.loads(path.read_text())


def unit_prices(table: Mapping[str, Any]) -> dict[str, float]:
    """USD per one unit of each billing unit."""
    return {name: row["usd"] / row["per"] for name, row in table["prices"].items()}


def chunks(size_bytes: float, chunk: int) -> int:
    """Billing chunks of a payload (at least one)."""
    return max(1, math.ceil(size_bytes / chunk))


def add(*usages: Mapping[str, float]) -> Usage:
    total: Usage = {}
    for usage in usages:
        for unit, quantity in usage.items():
            total[unit] = total.get(unit, 0.0) + quantity
    return total


def scale(usage: Mapping[str, float], factor: float) -> Usage:
    return {unit: quantity * factor for unit, quantity in usage.items()}


# ------------------------------------------------------------------------------------------ usage per event


def lambda_usage(invocations_per_event: float, billed_ms: float, memory_mb: int) -> Usage:
    """Requests and GB-seconds per event of a function invoked ``invocations_per_event`` times per event."""
    return {
        "lambda_requests": invocations_per_event,
        "lambda_gb_seconds": invocations_per_event * (billed_ms / 1000) * (memory_mb / 1024),
    }


ONE_VCPU_MB = 1769  # "At 1,769 MB, a function has the equivalent of one vCPU" (Lambda memory and CPU docs)


def aws_billed_ms(figures: Mapping[str, Any]) -> float:
    """The mean billed duration of a function's invocations on AWS, from what the local runtime measured
    ({"mean_billed_ms", "mean_cpu_ms", "memory_mb"}). Lambda allocates CPU in proportion to memory, one vCPU at
    1,769 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html); the local runtime does
    not throttle, so its durations are full-core durations. Below one vCPU the CPU time takes memory / 1,769 of
    the speed, while the time spent waiting on requests is the same; threads that used more than one core
    locally share the one fraction of a vCPU. At or above one vCPU (or without a CPU reading) the measured
    duration stands: more cores would not make single-threaded work faster."""
    billed = float(figures["mean_billed_ms"])
    cpu = figures.get("mean_cpu_ms")
    if cpu is None or figures["memory_mb"] >= ONE_VCPU_MB:
        return billed
    return max(0.0, billed - cpu) + cpu * ONE_VCPU_MB / figures["memory_mb"]


def measured_lambda(figures: Mapping[str, Any], events: int, invocations: float | None = None) -> Usage:
    """Lambda usage per event from a benchmark's figures ({"invocations", "mean_billed_ms", "mean_cpu_ms",
    "memory_mb"}) for ``events`` events, at the duration AWS would bill (``aws_billed_ms``); ``invocations``
    overrides the measured count (a model's invocations, e.g. two API calls per image)."""
    count = figures.get("invocations") if invocations is None else invocations
    if not count:
        return {}
    return lambda_usage(count / events, aws_billed_ms(figures), figures["memory_mb"])


def sqs_usage(batch_size: float, message_bytes: int = 1 * KB) -> Usage:
    """One message through a queue consumed by a Lambda poller that hands ``batch_size`` messages (mean) to each
    invocation: the send, and this message's share of the batch's receive and delete."""
    batch_size = max(1.0, batch_size)
    send = chunks(message_bytes, SQS_CHUNK)
    receive = chunks(message_bytes * batch_size, SQS_CHUNK) / batch_size
    delete = 1 / batch_size
    return {"sqs_requests": send + receive + delete}


def eventbridge_usage(entries: float = 1, entry_bytes: int = 1 * KB) -> Usage:
    """Custom events published (entries per event); how they are grouped into PutEvents calls does not matter."""
    return {"eventbridge_events": entries * chunks(entry_bytes, EVENTBRIDGE_CHUNK)}


def sns_usage(publishes: float = 1, message_bytes: int = 1 * KB) -> Usage:
    return {"sns_publishes": publishes * chunks(message_bytes, SNS_CHUNK)}


def dynamodb_writes(writes: float = 1, item_bytes: int = 1 * KB) -> Usage:
    return {"dynamodb_wru": writes * math.ceil(max(1, item_bytes) / KB)}


def dynamodb_reads(reads: float = 1, item_bytes: int = 4 * KB, consistent: bool = False) -> Usage:
    units = math.ceil(max(1, item_bytes) / (4 * KB))
    return {"dynamodb_rru": reads * units * (1 if consistent else 0.5)}


def s3_usage(puts: float = 0, gets: float = 0) -> Usage:
    return {"s3_put": puts, "s3_get": gets}


def stepfunctions_usage(transitions_per_execution: float) -> Usage:
    return {"stepfunctions_transitions": transitions_per_execution}


# An Express execution's memory is 50 MB + the definition + the payload x the Parallel/Map branches (AWS's pricing
# page); a few KB of state and a small definition stay within the first 64 MB chunk.
EXPRESS_MEMORY_MB = 64
EXPRESS_DURATION_STEP_S = 0.1  # duration is rounded up to the next 100 ms


def express_billed_seconds(seconds: float) -> float:
    """An Express execution's billed duration: rounded up to the next 100 ms (at least 100 ms)."""
    steps = max(1, math.ceil(round(seconds / EXPRESS_DURATION_STEP_S, 6)))
    return round(steps * EXPRESS_DURATION_STEP_S, 1)


def express_usage(executions: float, billed_seconds: float, memory_mb: int = EXPRESS_MEMORY_MB) -> Usage:
    """``executions`` Express executions per event, each billed ``billed_seconds`` (mean, already rounded up)."""
    return {
        "stepfunctions_express_requests": executions,
        "stepfunctions_express_gb_seconds": executions * billed_seconds * memory_mb / 1024,
    }


def kinesis_shards(rate_per_s: float, record_bytes: int) -> int:
    """Shards a sustained write rate needs (the per-shard write limits)."""
    return max(
        1,
        math.ceil(rate_per_s / KINESIS_SHARD_RECORDS_PER_S),
        math.ceil(rate_per_s * record_bytes / KINESIS_SHARD_BYTES_PER_S),
    )


def kinesis_usage(record_bytes: int, rate_per_s: float) -> Usage:
    """One record put into a provisioned stream that carries ``rate_per_s`` records/s: its PUT payload units and
    its share of the shard-hours (shards x the time 1 event takes at that rate)."""
    shard_hours_per_event = kinesis_shards(rate_per_s, record_bytes) / rate_per_s / 3600
    return {
        "kinesis_put_units": chunks(record_bytes, KINESIS_PUT_UNIT),
        "kinesis_shard_hours": shard_hours_per_event,
    }


# ------------------------------------------------------------------------------------------------- the bill


def bill(
    usage_per_event: Mapping[str, float], table: Mapping[str, Any] | None = None, events: int = EVENTS
) -> dict[str, Any]:
    """USD for ``events`` events: a line per billing unit (quantity and cost) and the total."""
    prices = unit_prices(table or load_prices())
    lines = {}
    for unit, quantity in sorted(usage_per_event.items()):
        if unit not in prices:
            raise KeyError(f"no price for {unit!r} in the price table")
        if quantity:
            lines[unit] = {"quantity": quantity * events, "usd": quantity * events * prices[unit]}
    return {"events": events, "lines": lines, "usd": sum(line["usd"] for line in lines.values())}


def compare(
    ours: Mapping[str, float], naive: Mapping[str, float], table: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Both bills per 1M events and naive / ours (how many times more the naive one costs)."""
    table = table or load_prices()
    ours_bill, naive_bill = bill(ours, table), bill(naive, table)
    return {
        "ours": ours_bill,
        "naive": naive_bill,
        "ratio_naive_to_ours": round(naive_bill["usd"] / ours_bill["usd"], 3) if ours_bill["usd"] else None,
        "prices_as_of": table["as_of"],
        "region": table["region"],
    }


def fargate_crossover(
    lambda_usd_per_event: float,
    compute_seconds_per_event: float,
    table: Mapping[str, Any] | None = None,
    *,
    vcpu: float = 1.0,
    memory_gb: float = 2.0,
    min_tasks: int = 2,
    utilisation: float = 0.6,
) -> dict[str, Any]:
    """The sustained rate (events/s) above which an always-on Fargate service is cheaper than Lambda compute.

    Lambda costs ``lambda_usd_per_event`` (requests + GB-seconds) per event at any rate. The service runs at least
    ``min_tasks`` tasks (two zones), each doing ``utilisation`` x vcpu / ``compute_seconds_per_event`` events/s,
    so it costs a floor of ``min_tasks`` tasks until the rate needs more, then grows with the rate. The queues,
    tables and buckets around the compute cost the same either way and are left out.
    """
    prices = unit_prices(table or load_prices())
    task_per_hour = vcpu * prices["fargate_vcpu_hours"] + memory_gb * prices["fargate_gb_hours"]
    task_rate = utilisation * vcpu / compute_seconds_per_event  # events/s one task sustains
    fargate_per_event = task_per_hour / (task_rate * 3600)  # the service's cost per event once past its floor
    # Lambda's bill r x 3600 x c crosses the floor (min_tasks x task_per_hour) at min_tasks x P / (3600 c); that
    # rate is below the floor's capacity exactly when c > P / (3600 x task_rate), i.e. Lambda costs more per event
    # than a busy task; past it the service stays cheaper. Otherwise Lambda is cheaper at every rate.
    crossover = (
        min_tasks * task_per_hour / (3600 * lambda_usd_per_event)
        if lambda_usd_per_event > fargate_per_event
        else None
    )
    return {
        "task_usd_per_hour": round(task_per_hour, 5),
        "task_events_per_s": round(task_rate, 1),
        "lambda_usd_per_event": lambda_usd_per_event,
        "fargate_usd_per_event_at_capacity": fargate_per_event,
        "crossover_events_per_s": round(crossover, 1) if crossover is not None else None,
        "assumptions": {
            "vcpu": vcpu,
            "memory_gb": memory_gb,
            "min_tasks": min_tasks,
            "utilisation": utilisation,
        },
    }


# ------------------------------------------------------------------------------------------------ pipelines
# What one event costs in each pipeline, besides the Lambda compute the benchmark measured. ``queue_batch`` is the
# mean number of messages per invocation of the function behind a queue (None: no queue, the function is invoked
# directly, as the naive baselines are).

S3_EVENT_BYTES = 2 * KB  # an EventBridge "Object Created" event as SQS carries it


def ingest_usage(compute: Mapping[str, float], *, queue_batch: float | None) -> Usage:
    """One object: the producer's PUT, the function's GET, the output PUT and the result write (both sides);
    ours also has the ingest queue (S3 -> EventBridge on the default bus is free)."""
    parts = [compute, s3_usage(puts=2, gets=1), dynamodb_writes(1)]
    if queue_batch is not None:
        parts.append(sqs_usage(queue_batch, S3_EVENT_BYTES))
    return add(*parts)


def routing_usage(
    router: Mapping[str, float],
    processors: Mapping[str, float],
    *,
    router_batch: float | None,
    processor_batch: float,
) -> Usage:
    """One record: its "Record Submitted" event, the router, its "Record Routed" event on the bus, the type's
    queue, the processor and the result write (both sides); ours also has the router queue."""
    parts = [router, processors, eventbridge_usage(2), sqs_usage(processor_batch, 2 * KB), dynamodb_writes(1)]
    if router_batch is not None:
        parts.append(sqs_usage(router_batch, 2 * KB))
    return add(*parts)


def inference_usage(
    api: Mapping[str, float], worker: Mapping[str, float], *, queue_batch: float | None, model_gets: float
) -> Usage:
    """One image through an HTTP API in front (a POST and one GET of the result, both through the API function,
    the same for both sides), the input PUT, the worker's image GET (and ``model_gets`` model downloads), the
    result write and read. Ours also writes the job first, queues the S3 event, publishes the completion and marks
    the job's event published (`inference_worker.logic.mark_published`: a write per image, so that a redelivery
    does not publish it again)."""
    parts = [
        api,
        worker,
        {"apigw_http_requests": 2},
        s3_usage(puts=1, gets=1 + model_gets),
        dynamodb_writes(1),
        dynamodb_reads(1, 1 * KB),
    ]
    if queue_batch is not None:
        parts += [dynamodb_writes(2), sqs_usage(queue_batch, S3_EVENT_BYTES), eventbridge_usage(1)]
    return add(*parts)


def lambda_only(usage: Mapping[str, float]) -> Usage:
    return {unit: quantity for unit, quantity in usage.items() if unit.startswith("lambda_")}


def kinesis_vs_sqs_crossover(
    table: Mapping[str, Any] | None = None, *, batch_size: float = 10, record_bytes: int = 1 * KB
) -> float:
    """The sustained rate (events/s) above which one provisioned Kinesis shard costs less than an SQS queue
    consumed in batches of ``batch_size``: the shard-hour is a fixed cost per second, SQS a cost per event.
    (Up to the shard's write limit; past it every further shard moves the line up by the same step.)"""
    prices = unit_prices(table or load_prices())
    sqs_per_event = sqs_usage(batch_size, record_bytes)["sqs_requests"] * prices["sqs_requests"]
    kinesis_per_event = chunks(record_bytes, KINESIS_PUT_UNIT) * prices["kinesis_put_units"]
    shard_per_second = prices["kinesis_shard_hours"] / 3600
    return shard_per_second / (sqs_per_event - kinesis_per_event)


def lambda_usd_per_event_at_one_vcpu(
    compute_seconds_per_event: float, invocations_per_event: float, table: Mapping[str, Any] | None = None
) -> float:
    """Lambda's price for an event's CPU-bound work on one full vCPU (1,769 MB): the like-for-like figure to set
    against a 1-vCPU task. The local runtime does not throttle CPU by memory, so its durations are full-core
    durations; on AWS a smaller function takes proportionally longer for CPU-bound work and costs about the same."""
    prices = unit_prices(table or load_prices())
    usage = lambda_usage(
        invocations_per_event, compute_seconds_per_event * 1000 / invocations_per_event, ONE_VCPU_MB
    )
    return (
        usage["lambda_requests"] * prices["lambda_requests"]
        + usage["lambda_gb_seconds"] * prices["lambda_gb_seconds"]
    )


def documents_usage(
    compute: Mapping[str, float],
    *,
    transitions: float,
    pdf_share: float,
    validation_step: bool,
    text_in_s3: bool,
    text_reads: float = 2,
    result_item_bytes: int = 1 * KB,
    express: Mapping[str, float] | None = None,
) -> Usage:
    """One document through a Standard workflow: the upload PUT, the extract step's GET, the result object PUT and
    the results-table write, one SNS publish and ``transitions`` state transitions (S3 -> EventBridge on the default
    bus is free), plus ``express`` (the ``express_usage`` of nested Express workflows, ours: the analysis). A
    ``validation_step`` of its own (naive) costs a HEAD and, for a PDF, a ranged GET of its first KB (ours checks
    what the extract step's conditional GET answers). With ``text_in_s3`` the extracted text is written once and
    read back ``text_reads`` times per document (ours: by both analysis steps, only for texts too large to ride in
    the state); without it (naive) the text rides in the execution's state. Ours also has a default-bus rule on
    the workflow's "Execution Status Change" events: AWS service events on the default bus and their rule matches
    are free, and its function runs only for executions that end TIMED_OUT/ABORTED/FAILED (none in this model)."""
    text = s3_usage(puts=1, gets=text_reads) if text_in_s3 else {}
    return add(
        compute,
        s3_usage(puts=2, gets=1 + ((1 + pdf_share) if validation_step else 0)),
        text,
        dynamodb_writes(1, result_item_bytes),
        sns_usage(1),
        stepfunctions_usage(transitions),
        express or {},
    )


def stream_usage(
    compute: Mapping[str, float],
    *,
    record_bytes: int,
    rate_per_s: float,
    shards: int | None = None,
    alerts_per_record: float,
    state_reads: float = 1,
    state_writes: float = 1,
) -> Usage:
    """One transaction through a provisioned Kinesis stream carrying ``rate_per_s`` (its PUT payload units, its
    share of the shard-hours: ``shards``, or as many as the write limits need), the scorer's compute, the user's
    state read (eventually consistent) and written back, and per alert one table write and one custom event.
    Ours reads and writes a user's state once per batch (BatchGetItem, BatchWriteItem), so ``state_reads`` and
    ``state_writes`` are the distinct users per record of a batch (at most 1); the naive one once per record."""
    stream = kinesis_usage(record_bytes, rate_per_s)
    if shards is not None:
        stream["kinesis_shard_hours"] = shards / rate_per_s / 3600
    return add(
        compute,
        stream,
        dynamodb_reads(state_reads, 1 * KB),
        dynamodb_writes(state_writes + alerts_per_record),
        eventbridge_usage(alerts_per_record),
    )


def kinesis_consumer_shards(rate_per_s: float, ms_per_invocation: float, batch_size: float) -> int:
    """Shards a Lambda consumer needs to keep up with ``rate_per_s``: each shard runs at most
    ``PARALLELIZATION_FACTOR_MAX`` concurrent batches of ``batch_size`` records, each taking ``ms_per_invocation``."""
    per_shard = PARALLELIZATION_FACTOR_MAX * batch_size * 1000 / max(ms_per_invocation, 1e-9)
    return max(1, math.ceil(rate_per_s / per_shard))


PARALLELIZATION_FACTOR_MAX = 10  # concurrent batches per shard (Lambda's ParallelizationFactor, 1-10)


def distinct_per_record(users: int, batch: float) -> float:
    """Expected distinct users per record in a batch of ``batch`` records drawn uniformly from ``users`` users:
    what one read and one write per user per batch come to per record (at most 1)."""
    if users <= 0 or batch <= 1:
        return 1.0
    return min(1.0, users * (1 - (1 - 1 / users) ** batch) / batch)
