"""Operations: dead-letter queues, EventBridge replays and the environment's state at a glance.

Everything here takes a boto3 client factory (`clients("sqs")`), so the same code runs against the local cloud,
LocalStack and AWS; `sluicectl dlq|replay|status` (sluicectl/cli.py) only renders what it returns.

- DLQs are found, not configured: every queue of the environment whose ARN another queue's redrive policy names
  (or whose name ends in -dlq: EventBridge target and Lambda async DLQs have no source queue).
- Redrive uses SQS's own message move tasks (StartMessageMoveTask / ListMessageMoveTasks), as the console does.
- Replays use the EventBridge archive of the bus (StartReplay / DescribeReplay); replayed events carry
  `replay-name`, and the archive's own rule ignores them, so a replay is never archived twice.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Clients = Callable[[str], Any]

DLQ_SUFFIX = "-dlq"
MOVE_TASK_DONE = ("COMPLETED", "CANCELLED", "FAILED")
REPLAY_DONE = ("COMPLETED", "CANCELLED", "FAILED")


class OpsError(RuntimeError):
    """A request the tooling refuses, with what to do instead."""


# -- queues ----------------------------------------------------------------------------------------------------


@dataclass
class QueueInfo:
    name: str
    url: str
    arn: str
    visible: int
    in_flight: int
    delayed: int = 0
    dlq_arn: str | None = None  # the queue's own DLQ (from its redrive policy)
    max_receive_count: int | None = None
    is_dlq: bool = False
    sources: list[str] = field(default_factory=list)  # queues that dead-letter into this one
    oldest_age_s: float | None = None  # DLQs only: age of the oldest message seen

    @property
    def depth(self) -> int:
        return self.visible + self.in_flight + self.delayed

    @property
    def dlq_name(self) -> str | None:
        return self.dlq_arn.rsplit(":", 1)[-1] if self.dlq_arn else None


def _int(attributes: dict[str, str], key: str) -> int:
    return int(attributes.get(key) or 0)


def list_queue_urls(sqs: Any, prefix: str) -> list[str]:
    urls: list[str] = []
    for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix, PaginationConfig={"PageSize": 1000}):
        urls.extend(page.get("QueueUrls", []))
    return sorted(set(urls))


def queue_info(sqs: Any, url: str) -> QueueInfo:
    import json

    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else {}
    arn = attributes["QueueArn"]
    return QueueInfo(
        name=arn.rsplit(":", 1)[-1],
        url=url,
        arn=arn,
        visible=_int(attributes, "ApproximateNumberOfMessages"),
        in_flight=_int(attributes, "ApproximateNumberOfMessagesNotVisible"),
        delayed=_int(attributes, "ApproximateNumberOfMessagesDelayed"),
        dlq_arn=redrive.get("deadLetterTargetArn"),
        max_receive_count=int(redrive["maxReceiveCount"]) if redrive.get("maxReceiveCount") else None,
    )


def discover_queues(clients: Clients, prefix: str, *, ages: bool = True, now: float | None = None) -> list[QueueInfo]:
    """Every queue whose name starts with `prefix`, DLQs marked (with their sources and, if `ages`, the age of
    the oldest message seen)."""
    sqs = clients("sqs")
    # One GetQueueAttributes per queue, 8 at a time (boto3 clients are thread-safe): an environment has ~20 queues.
    with ThreadPoolExecutor(max_workers=8) as pool:
        queues = list(pool.map(lambda url: queue_info(sqs, url), list_queue_urls(sqs, prefix)))
    by_arn = {q.arn: q for q in queues}
    for queue in queues:
        if queue.dlq_arn and queue.dlq_arn in by_arn:
            target = by_arn[queue.dlq_arn]
            target.is_dlq = True
            target.sources.append(queue.name)
    for queue in queues:
        queue.is_dlq = queue.is_dlq or queue.name.endswith(DLQ_SUFFIX)
        if ages and queue.is_dlq and queue.visible:
            queue.oldest_age_s = oldest_message_age(sqs, queue.url, now=now)
    return queues


def oldest_message_age(sqs: Any, url: str, *, now: float | None = None, sample: int = 10) -> float | None:
    """Age in seconds of the oldest message among up to `sample` visible ones, left visible.

    SQS reports the age of the oldest message only as a CloudWatch metric (minutes late); a receive with a zero
    visibility timeout reads SentTimestamp now, at the cost of one receive count on each message it sees.
    """
    response = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=min(sample, 10), VisibilityTimeout=0, WaitTimeSeconds=0, AttributeNames=["SentTimestamp"]
    )
    stamps = [int(m["Attributes"]["SentTimestamp"]) for m in response.get("Messages", []) if "SentTimestamp" in m.get("Attributes", {})]
    if not stamps:
        return None
    return max(0.0, (now if now is not None else time.time()) - min(stamps) / 1000.0)


def resolve_queue(clients: Clients, ref: str, prefix: str) -> QueueInfo:
    """A queue by URL, ARN, full name, or name without the environment prefix (`ingest-dlq`)."""
    sqs = clients("sqs")
    if ref.startswith(("http://", "https://")):
        return queue_info(sqs, ref)
    name = ref.rsplit(":", 1)[-1] if ref.startswith("arn:") else ref
    candidates = [name] if name.startswith(prefix) else [f"{prefix}-{name}", name]
    for candidate in candidates:
        try:
            url = sqs.get_queue_url(QueueName=candidate)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            continue
        return queue_info(sqs, url)
    raise OpsError(f"no queue {ref!r} (tried {', '.join(candidates)}): `sluicectl dlq list` shows the DLQs")


def dlq_of(clients: Clients, ref: str, prefix: str) -> tuple[QueueInfo, list[QueueInfo]]:
    """The DLQ named by `ref` and the queues that dead-letter into it."""
    queues = discover_queues(clients, prefix, ages=False)
    target = resolve_queue(clients, ref, prefix)
    for queue in queues:
        if queue.arn == target.arn:
            target = queue
    sources = [q for q in queues if q.dlq_arn == target.arn]
    return target, sources


# -- inspect ---------------------------------------------------------------------------------------------------


@dataclass
class PeekedMessage:
    message_id: str
    sent: datetime | None
    receive_count: int
    attributes: dict[str, str]
    message_attributes: dict[str, str]
    body: str

    def preview(self, width: int = 120) -> str:
        text = " ".join(self.body.split())
        return text if len(text) <= width else text[: width - 1] + "…"


def _message_attribute_text(value: dict[str, Any]) -> str:
    if "StringValue" in value:
        return str(value["StringValue"])
    if "BinaryValue" in value:
        return f"<{len(value['BinaryValue'])} bytes>"
    return str(value)


def peek(sqs: Any, url: str, limit: int = 10, *, hold_seconds: int = 30) -> list[PeekedMessage]:
    """Up to `limit` messages of a queue without consuming them: received with a short visibility timeout (so a
    message is not seen twice while reading) and made visible again right after. Each message's receive count
    goes up by one, as with any receive."""
    seen: dict[str, PeekedMessage] = {}
    handles: list[tuple[str, str]] = []
    try:
        while len(seen) < limit:
            response = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=hold_seconds,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            if not messages:
                break
            for message in messages:
                handles.append((message["MessageId"], message["ReceiptHandle"]))
                attributes = message.get("Attributes", {})
                sent = attributes.get("SentTimestamp")
                seen[message["MessageId"]] = PeekedMessage(
                    message_id=message["MessageId"],
                    sent=datetime.fromtimestamp(int(sent) / 1000, tz=UTC) if sent else None,
                    receive_count=int(attributes.get("ApproximateReceiveCount") or 0),
                    attributes=attributes,
                    message_attributes={k: _message_attribute_text(v) for k, v in (message.get("MessageAttributes") or {}).items()},
                    body=message.get("Body", ""),
                )
    finally:
        release(sqs, url, handles)
    return list(seen.values())[:limit]


def release(sqs: Any, url: str, handles: list[tuple[str, str]]) -> None:
    """Make received messages visible again (visibility timeout 0), ten per call."""
    for start in range(0, len(handles), 10):
        chunk = handles[start : start + 10]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0} for i, (_, handle) in enumerate(chunk)],
        )


# -- redrive ---------------------------------------------------------------------------------------------------


@dataclass
class RedrivePlan:
    dlq: QueueInfo
    destination_arn: str | None  # None: SQS moves each message back to the queue it was dead-lettered from
    destination_name: str
    messages: int


def plan_redrive(clients: Clients, ref: str, prefix: str, to: str | None = None) -> RedrivePlan:
    dlq, sources = dlq_of(clients, ref, prefix)
    if to:
        destination = resolve_queue(clients, to, prefix)
        return RedrivePlan(dlq, destination.arn, destination.name, dlq.visible)
    if not dlq.is_dlq:
        raise OpsError(f"{dlq.name} is not a dead-letter queue of this environment")
    if len(sources) == 1:
        # Naming the source explicitly gives the same result as SQS's default and says where messages go.
        return RedrivePlan(dlq, sources[0].arn, sources[0].name, dlq.visible)
    if not sources:
        raise OpsError(
            f"no queue dead-letters into {dlq.name} (an EventBridge target or Lambda async DLQ): give --to QUEUE, "
            "the queue its messages should go to"
        )
    names = ", ".join(q.name for q in sources)
    raise OpsError(f"{dlq.name} is the DLQ of {len(sources)} queues ({names}): give --to QUEUE")


def start_redrive(sqs: Any, plan: RedrivePlan, rate: int | None = None) -> str:
    params: dict[str, Any] = {"SourceArn": plan.dlq.arn}
    if plan.destination_arn:
        params["DestinationArn"] = plan.destination_arn
    if rate:
        params["MaxNumberOfMessagesPerSecond"] = rate
    return str(sqs.start_message_move_task(**params)["TaskHandle"])


def latest_move_task(sqs: Any, source_arn: str) -> dict[str, Any] | None:
    results = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1).get("Results", [])
    return results[0] if results else None


def wait_move_task(
    sqs: Any,
    source_arn: str,
    *,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    timeout: float = 600.0,
    interval: float = 0.2,
    max_interval: float = 2.0,
) -> dict[str, Any]:
    """Poll the newest move task of `source_arn` until it is done; returns its last ListMessageMoveTasks row."""
    deadline = time.monotonic() + timeout
    while True:
        task = latest_move_task(sqs, source_arn) or {}
        if on_progress:
            on_progress(task)
        if task.get("Status") in MOVE_TASK_DONE:
            return task
        if time.monotonic() >= deadline:
            raise OpsError(f"the move task of {source_arn} is still {task.get('Status')} after {timeout:.0f} s")
        time.sleep(interval)
        interval = min(interval * 1.5, max_interval)


def purge(sqs: Any, queue: QueueInfo) -> int:
    """Delete every message of the queue (SQS allows one purge per queue per 60 s); returns the depth before."""
    sqs.purge_queue(QueueUrl=queue.url)
    return queue.depth


# -- replay ----------------------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^-?(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """`now`, a duration ago (`15m`, `-2h`, `1d`), an ISO 8601 time (UTC unless it says otherwise) or epoch
    seconds."""
    now = now or datetime.now(tz=UTC)
    value = text.strip()
    if value.lower() == "now":
        return now
    match = _RELATIVE.match(value.lower())
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    if re.fullmatch(r"\d{9,11}(\.\d+)?", value):
        return datetime.fromtimestamp(float(value), tz=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise OpsError(f"cannot read the time {text!r}: use now, 15m / 2h / 1d (ago), ISO 8601 or epoch seconds") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def bus_name(bus: str, prefix: str) -> str:
    """`default`, `domain` (the environment's domain bus), or a bus name or ARN."""
    if bus.startswith("arn:"):
        return bus.rsplit("/", 1)[-1]
    if bus == "default" or bus.startswith(prefix):
        return bus
    return f"{prefix}-{bus}"


@dataclass
class ReplayPlan:
    bus_name: str
    bus_arn: str
    archive_name: str
    archive_arn: str
    archived_events: int
    start: datetime
    end: datetime
    filter_arns: list[str]
    name: str


def plan_replay(clients: Clients, bus: str, prefix: str, start: datetime, end: datetime, rules: Iterable[str] = ()) -> ReplayPlan:
    if start >= end:
        raise OpsError(f"the window is empty: --from {start.isoformat()} is not before --to {end.isoformat()}")
    events = clients("events")
    name = bus_name(bus, prefix)
    try:
        bus_arn = events.describe_event_bus(Name=name)["Arn"]
    except events.exceptions.ResourceNotFoundException as exc:
        raise OpsError(f"no event bus {name!r}") from exc
    archives = [a for a in events.list_archives(EventSourceArn=bus_arn).get("Archives", []) if a.get("State", "ENABLED") == "ENABLED"]
    if not archives:
        raise OpsError(f"bus {name} has no enabled archive: deploy the stack's event archives (terraform/stack/observability.tf)")
    archive = events.describe_archive(ArchiveName=sorted(archives, key=lambda a: a["ArchiveName"])[0]["ArchiveName"])
    filter_arns = []
    for rule in rules:
        filter_arns.append(rule if rule.startswith("arn:") else events.describe_rule(Name=rule, EventBusName=name)["Arn"])
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S%f")
    replay_name = re.sub(r"[^.\-_A-Za-z0-9]", "-", f"{name}-{stamp}")[-64:]
    return ReplayPlan(
        bus_name=name,
        bus_arn=bus_arn,
        archive_name=archive["ArchiveName"],
        archive_arn=archive["ArchiveArn"],
        archived_events=int(archive.get("EventCount") or 0),
        start=start,
        end=end,
        filter_arns=filter_arns,
        name=replay_name,
    )


def start_replay(events: Any, plan: ReplayPlan) -> str:
    destination: dict[str, Any] = {"Arn": plan.bus_arn}
    if plan.filter_arns:
        destination["FilterArns"] = plan.filter_arns
    events.start_replay(
        ReplayName=plan.name,
        Description=f"sluicectl replay of {plan.bus_name} {plan.start.isoformat()} .. {plan.end.isoformat()}",
        EventSourceArn=plan.archive_arn,
        EventStartTime=plan.start,
        EventEndTime=plan.end,
        Destination=destination,
    )
    return plan.name


def replay_fraction(replay: dict[str, Any], plan: ReplayPlan) -> float:
    """How far through its window a replay is (EventLastReplayedTime between start and end)."""
    if replay.get("State") == "COMPLETED":
        return 1.0
    last = replay.get("EventLastReplayedTime")
    if not isinstance(last, datetime):
        return 0.0
    span = (plan.end - plan.start).total_seconds()
    done = (last.astimezone(UTC) - plan.start).total_seconds()
    return max(0.0, min(1.0, done / span)) if span > 0 else 1.0


def wait_replay(
    events: Any,
    name: str,
    *,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    timeout: float = 900.0,
    interval: float = 0.2,
    max_interval: float = 5.0,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        replay = events.describe_replay(ReplayName=name)
        if on_progress:
            on_progress(replay)
        if replay.get("State") in REPLAY_DONE:
            return replay
        if time.monotonic() >= deadline:
            raise OpsError(f"replay {name} is still {replay.get('State')} after {timeout:.0f} s")
        time.sleep(interval)
        interval = min(interval * 1.5, max_interval)


# -- status: functions and metrics -----------------------------------------------------------------------------


@dataclass
class FunctionInfo:
    name: str
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    last_error: str | None = None


@dataclass
class MetricRow:
    service: str
    name: str
    dimensions: dict[str, str]
    total: float
    samples: float
    p50: float | None = None
    p99: float | None = None

    @property
    def label(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.dimensions.items()))
        return f"{self.name}{{{extra}}}" if extra else self.name


def _is_latency(name: str) -> bool:
    return name.endswith(("Latency", "Duration", "Ms"))


def _window(window_s: int, now: datetime | None = None) -> tuple[datetime, datetime, int]:
    end = (now or datetime.now(tz=UTC)).replace(microsecond=0) + timedelta(seconds=1)
    period = max(60, int(window_s) // 60 * 60)
    return end - timedelta(seconds=period), end, period


def _metric_data(cloudwatch: Any, queries: list[dict[str, Any]], start: datetime, end: datetime) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    for offset in range(0, len(queries), 500):  # GetMetricData's limit per call
        params: dict[str, Any] = {"MetricDataQueries": queries[offset : offset + 500], "StartTime": start, "EndTime": end}
        while True:
            response = cloudwatch.get_metric_data(**params)
            for result in response.get("MetricDataResults", []):
                values.setdefault(result["Id"], []).extend(v for v in result.get("Values", []) if v is not None)
            if not response.get("NextToken"):
                break
            params["NextToken"] = response["NextToken"]
    return values


def _stat_query(qid: str, namespace: str, name: str, dimensions: list[dict[str, str]], stat: str, period: int) -> dict[str, Any]:
    return {
        "Id": qid,
        "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions}, "Period": period, "Stat": stat},
        "ReturnData": True,
    }


def emf_metrics(cloudwatch: Any, namespace: str = "Sluice", window_s: int = 3600, services: Iterable[str] | None = None) -> list[MetricRow]:
    """The functions' own metrics (Powertools EMF) over the last `window_s`: sum and count of every metric with a
    `service` dimension, p50/p99 of latencies."""
    wanted = set(services) if services is not None else None
    metrics = []
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace):
        for metric in page.get("Metrics", []):
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            if "service" not in dims or (wanted is not None and dims["service"] not in wanted):
                continue
            metrics.append((metric["MetricName"], metric.get("Dimensions", []), dims))
    metrics.sort(key=lambda m: (m[2]["service"], m[0], sorted(m[2].items())))
    start, end, period = _window(window_s)
    queries = []
    for i, (name, dimensions, _) in enumerate(metrics):
        stats = ["Sum", "SampleCount"] + (["p50", "p99"] if _is_latency(name) else [])
        queries.extend(_stat_query(f"m{i}_{s.lower()}", namespace, name, dimensions, s, period) for s in stats)
    values = _metric_data(cloudwatch, queries, start, end) if queries else {}
    rows = []
    for i, (name, _, dims) in enumerate(metrics):
        total = sum(values.get(f"m{i}_sum", []))
        samples = sum(values.get(f"m{i}_samplecount", []))
        p50 = values.get(f"m{i}_p50") or None
        p99 = values.get(f"m{i}_p99") or None
        service = dims.pop("service")
        rows.append(MetricRow(service, name, dims, total, samples, p50[-1] if p50 else None, p99[-1] if p99 else None))
    return rows


def lambda_metrics(clients: Clients, names: list[str], window_s: int = 3600) -> dict[str, FunctionInfo]:
    """Invocations, errors and throttles of each function from CloudWatch (AWS/Lambda) over the window, and the
    last error line of its log group."""
    cloudwatch = clients("cloudwatch")
    start, end, period = _window(window_s)
    queries = []
    for i, name in enumerate(names):
        for metric in ("Invocations", "Errors", "Throttles"):
            queries.append(_stat_query(f"f{i}_{metric.lower()}", "AWS/Lambda", metric, [{"Name": "FunctionName", "Value": name}], "Sum", period))
    values = _metric_data(cloudwatch, queries, start, end) if queries else {}
    result = {}
    logs = clients("logs")
    for i, name in enumerate(names):
        info = FunctionInfo(
            name,
            invocations=int(sum(values.get(f"f{i}_invocations", []))),
            errors=int(sum(values.get(f"f{i}_errors", []))),
            throttles=int(sum(values.get(f"f{i}_throttles", []))),
        )
        if info.errors:
            info.last_error = last_error_line(logs, f"/aws/lambda/{name}", start)
        result[name] = info
    return result


def last_error_line(logs: Any, group: str, since: datetime) -> str | None:
    try:
        response = logs.filter_log_events(
            logGroupName=group, startTime=int(since.timestamp() * 1000), filterPattern="?ERROR ?Traceback ?Task", limit=50
        )
    except Exception:  # no log group yet, or no permission: the counts still stand
        return None
    events = response.get("events", [])
    return events[-1]["message"].strip() if events else None


def function_names(clients: Clients, prefix: str) -> list[str]:
    names = []
    for page in clients("lambda").get_paginator("list_functions").paginate():
        names.extend(f["FunctionName"] for f in page.get("Functions", []) if f["FunctionName"].startswith(prefix))
    return sorted(names)


def local_function_stats(status: dict[str, Any], prefix: str) -> dict[str, FunctionInfo]:
    """Invocations, errors and the last error of each function as the local cloud's runtime counted them."""
    return {
        name: FunctionInfo(name, int(row.get("invocations", 0)), int(row.get("errors", 0)), int(row.get("throttles", 0)), row.get("last_error"))
        for name, row in status.get("functions", {}).items()
        if name.startswith(prefix)
    }


@dataclass
class Snapshot:
    prefix: str
    taken_at: datetime
    queues: list[QueueInfo]
    functions: dict[str, FunctionInfo]
    metrics: list[MetricRow]
    window_s: int

    @property
    def dlqs(self) -> list[QueueInfo]:
        return [q for q in self.queues if q.is_dlq]

    @property
    def work_queues(self) -> list[QueueInfo]:
        return [q for q in self.queues if not q.is_dlq]

    @property
    def dead_lettered(self) -> int:
        return sum(q.depth for q in self.dlqs)


def snapshot(
    clients: Clients,
    prefix: str,
    *,
    window_s: int = 3600,
    local_status: dict[str, Any] | None = None,
    namespace: str = "Sluice",
) -> Snapshot:
    """One look at the environment: queues and DLQs, functions, EMF metrics. With `local_status` (the local
    cloud's /_localcloud/status) the functions' counts come from its runtime, else from CloudWatch."""
    offset = float((local_status or {}).get("clock_offset_s") or 0.0)
    queues = discover_queues(clients, prefix, now=time.time() + offset)
    if local_status is not None:
        functions = local_function_stats(local_status, prefix)
    else:
        functions = lambda_metrics(clients, function_names(clients, prefix), window_s)
    metrics = emf_metrics(clients("cloudwatch"), namespace, window_s)
    return Snapshot(prefix, datetime.now(tz=UTC), queues, functions, metrics, window_s)
