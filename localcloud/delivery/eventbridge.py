"""EventBridge buses: PutEvents (and S3's notifications) enqueue; dispatcher threads match every ENABLED rule of
the bus and deliver to its targets with input transformation, retries and the target's dead-letter queue.

moto's own delivery raises NotImplementedError for Lambda, Step Functions and SNS targets (turning PutEvents
into a 500), stamps events with a float `time` and a constant `id`, and swallows delivery errors. Here delivery
is asynchronous like AWS's: PutEvents answers at once with event ids, and failures are counted and visible.
Rules match with localcloud.patterns (AWS's pattern semantics, arrays of objects included), not moto's matcher.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import functools
import json
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import patterns
from ..clock import iso_now
from . import targets
from .base import Delivery, Worker

if TYPE_CHECKING:
    from ..cloud import LocalCloud

log = logging.getLogger("localcloud.events")
MAX_ENTRY_BYTES = 256 * 1024


@dataclass
class RuleStats:
    matched: int = 0
    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0
    duplicates: int = 0  # injected duplicate deliveries
    last_error: str | None = None


def _iso(value: Any) -> str:
    if value in (None, ""):
        return iso_now()
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def envelope(entry: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    """The event a rule sees for a PutEvents entry."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": _iso(entry.get("Time")),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(entry["Detail"]),
    }


def validate_entry(entry: dict[str, Any]) -> dict[str, str] | None:
    """AWS's per-entry checks; an error entry, or None when the entry is fine."""
    for field, name in (("Source", "Source"), ("DetailType", "DetailType"), ("Detail", "Detail")):
        if not entry.get(field):
            return {
                "ErrorCode": "InvalidArgument",
                "ErrorMessage": f"Parameter {name} is not valid. Reason: {name} is a required argument.",
            }
    try:
        detail = json.loads(entry["Detail"])
    except (TypeError, ValueError):
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    if not isinstance(detail, dict):
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    size = len(entry["Source"]) + len(entry["DetailType"]) + len(entry["Detail"].encode())
    size += sum(len(r) for r in entry.get("Resources") or [])
    if size > MAX_ENTRY_BYTES:
        return {"ErrorCode": "InvalidArgument", "ErrorMessage": "Total size of the entries in the request is over the limit."}
    return None


def select(event: Any, path: str) -> Any:
    """Resolve a JSONPath as InputPath and InputPathsMap use it: "$", "$.detail", "$.detail.items[0].sku"."""
    if path == "$":
        return event
    if not path.startswith("$."):
        raise ValueError(f"unsupported JSONPath {path!r}: use $.a.b or $.a[0]")
    node = event
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path[2:]):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(node, list) or index >= len(node):
                return None
            node = node[index]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def render(template: str, values: dict[str, Any]) -> str:
    """Fill an InputTemplate the way EventBridge does: a placeholder inside a JSON string gets the value's text
    (JSON-escaped); a bare placeholder gets the value as JSON (strings quoted, missing values null).

    Hand-written because moto's transformer inserts strings without quotes (invalid JSON for a template like
    {"key": <key>}) and fails on events without its private "ingestion-time" field.
    """
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and in_string:
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        match = _PLACEHOLDER.match(template, i) if char == "<" else None
        if match and match.group(1) in values:
            value = values[match.group(1)]
            if in_string:
                text = value if isinstance(value, str) else json.dumps(value)
                out.append(json.dumps(text)[1:-1])
            else:
                out.append(json.dumps(value))
            i = match.end()
            continue
        out.append(char)
        i += 1
    return "".join(out)


def transform(target: dict[str, Any], event: dict[str, Any], rule_arn: str = "") -> str:
    """The payload a target receives: the event, a constant Input, an InputPath or an InputTransformer."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(select(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if not transformer:
        return json.dumps(event)
    values = {name: select(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()}
    values.setdefault("aws.events.event", event)
    values.setdefault("aws.events.event.json", event)
    values.setdefault("aws.events.rule-arn", rule_arn)
    values.setdefault("aws.events.rule-name", rule_arn.rsplit("/", 1)[-1])
    values.setdefault("aws.events.event.ingestion-time", event.get("time"))
    return render(transformer["InputTemplate"], values)


@functools.lru_cache(maxsize=1024)
def _header_pattern(raw_pattern: str) -> patterns.Pattern | None:
    """The part of a rule's pattern that an event's `source` and `detail-type` alone decide; None for a pattern
    that names neither, has a top-level `$or` or cannot be read: it may match anything."""
    try:
        pattern = json.loads(raw_pattern)
    except ValueError:
        pattern = None
    if not isinstance(pattern, dict) or patterns.OR in pattern:
        return None
    header = {k: pattern[k] for k in ("source", "detail-type") if k in pattern}
    try:
        return patterns.compile(json.dumps(header)) if header else None
    except patterns.PatternError:
        return None


class _Dispatcher(Worker):
    def __init__(self, delivery: EventsDelivery, index: int) -> None:
        super().__init__(f"events-dispatch-{index}")
        self.delivery = delivery

    def run_once(self) -> None:
        try:
            item = self.delivery._queue.get(timeout=0.5)
        except queue.Empty:
            return
        try:
            item()
        finally:
            self.delivery._queue.task_done()


class EventsDelivery(Delivery):
    name = "eventbridge"

    def __init__(self, cloud: LocalCloud, workers: int = 2) -> None:
        super().__init__(cloud)
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue()
        self.stats: dict[str, RuleStats] = collections.defaultdict(RuleStats)
        self.bus_counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._workers = [_Dispatcher(self, i) for i in range(workers)]
        for worker in self._workers:
            worker.start()

    def reconcile(self) -> None:
        pass  # rules are read from moto at dispatch time

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop(join=False)

    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def submit(self, work: Callable[[], None]) -> None:
        """Run `work` on a dispatcher thread (the scheduler delivers its events this way)."""
        self._queue.put(work)

    def deliver_to_rule(self, rule: Any, event: dict[str, Any]) -> None:
        """Send `event` to every target of `rule`, asynchronously: a scheduled rule's firing."""
        stats = self.stats[rule.arn]
        stats.matched += 1
        for target in list(rule.targets):
            self.submit(functools.partial(self._deliver, rule, target, event, stats))

    # -- ingress ----------------------------------------------------------------------------------------------
    def put(self, account: str, region: str, bus: str | None, events: list[dict[str, Any]], forwarded: bool = False) -> list[str]:
        """Enqueue events for `bus`. `events` are full envelopes (forwarded or built by a service) when
        `forwarded`, else they are already validated PutEvents entries. Returns the event ids."""
        from moto.events.models import events_backends

        backend = events_backends[account][region]
        bus_name = backend._normalize_event_bus_arn(bus)
        backend.describe_event_bus(bus_name)  # raises ResourceNotFoundException for an unknown bus
        ids = []
        for event in events:
            envelope_ = copy.deepcopy(event) if forwarded else envelope(event, account, region)
            if forwarded:
                envelope_["account"], envelope_["region"] = account, region
            self.bus_counts[bus_name] += 1
            self._queue.put(functools.partial(self._dispatch, account, region, bus_name, envelope_))
            ids.append(envelope_["id"])
        return ids

    def wants(self, account: str, region: str, bus: str, source: str, detail_type: str) -> bool:
        """Could an event of `source` and `detail_type` match an enabled rule (or archive) of `bus`? For services
        that emit an event on every operation (Step Functions' status changes), so they build it only then.
        Looks only at each pattern's top-level `source` and `detail-type`: True errs on the safe side."""
        from moto.events.models import events_backends

        try:
            rules = events_backends[account][region].describe_event_bus(bus).rules
        except Exception:
            return False
        probe = {"source": source, "detail-type": detail_type}
        for rule in list(rules.values()):
            if rule.state != "ENABLED" or rule.event_pattern is None:
                continue
            raw = rule.event_pattern.dump()
            if not raw:
                continue
            header = _header_pattern(raw)
            if header is None or header.matches(probe):
                return True
        return False

    # -- delivery ---------------------------------------------------------------------------------------------
    def replay(self, account: str, region: str, bus_name: str, event: dict[str, Any], rule_arns: list[str] | None = None) -> None:
        """Deliver one replayed event (it carries `replay-name`) now, on the caller's thread, to the bus's matching
        rules, or only to `rule_arns` (StartReplay's Destination.FilterArns)."""
        self.bus_counts[bus_name] += 1
        self._dispatch(account, region, bus_name, event, set(rule_arns) if rule_arns else None)

    def _dispatch(self, account: str, region: str, bus_name: str, event: dict[str, Any], only: set[str] | None = None) -> None:
        from moto.events.models import events_backends

        backend = events_backends[account][region]
        try:
            bus = backend.describe_event_bus(bus_name)
        except Exception:
            return
        for rule in list(bus.rules.values()):
            if only is not None and rule.arn not in only:
                continue
            raw_pattern = rule.event_pattern.dump() if rule.event_pattern is not None else None
            if rule.state != "ENABLED" or not raw_pattern:
                continue  # disabled, or a schedule rule (no pattern)
            try:
                if not patterns.compile(raw_pattern).matches(event):
                    continue
            except patterns.PatternError:
                continue  # refused at PutRule; only a rule created around the API could get here
            stats = self.stats[rule.arn]
            stats.matched += 1
            for target in list(rule.targets):
                self._deliver(rule, target, event, stats)

    def _deliver(self, rule: Any, target: dict[str, Any], event: dict[str, Any], stats: RuleStats) -> None:
        arn = target["Arn"]
        parsed = targets.Arn.parse(arn)
        if parsed.service == "events" and not parsed.resource_type:
            # An archive is a rule whose target ARN is "arn:aws:events:<region>:::" and whose input template
            # carries "<archive ARN>:<archive uuid>" (moto's model of archives): store the event as matched.
            archive_arn = json.loads(transform(target, event, rule.arn))["archive-arn"]
            rule._send_to_events_archive(targets.Arn.parse(archive_arn).resource_id, copy.deepcopy(event))
            stats.delivered += 1
            return
        try:
            payload = transform(target, event, rule.arn)
        except Exception as exc:
            self._failed(rule, target, event, stats, f"input transformation failed: {exc}", "0")
            return
        attempts = max(1, self.cloud.config.event_delivery_attempts)
        error = ""
        for attempt in range(1, attempts + 1):
            try:
                send = functools.partial(
                    targets.send,
                    self.cloud,
                    arn,
                    payload,
                    group_id=(target.get("SqsParameters") or {}).get("MessageGroupId"),
                    role_arn=target.get("RoleArn"),
                )
                send()
                stats.delivered += 1
                if self.cloud.faults.duplicate("eventbridge"):
                    # At-least-once: the same event (same id) reaches the target a second time.
                    stats.duplicates += 1
                    with contextlib.suppress(targets.DeliveryError):
                        send()
                return
            except targets.DeliveryError as exc:
                error = str(exc)
                time.sleep(min(0.05 * 2**attempt, 1.0))
        self._failed(rule, target, event, stats, error, str(attempts))

    def _failed(self, rule: Any, target: dict[str, Any], event: dict[str, Any], stats: RuleStats, error: str, attempts: str) -> None:
        stats.failed += 1
        stats.last_error = error
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        log.warning("delivery of event %s from rule %s to %s failed: %s", event.get("id"), rule.name, target["Arn"], error)
        if not dlq:
            return
        try:
            targets.send(
                self.cloud,
                dlq,
                event,
                attributes={
                    "ERROR_CODE": "FAILED_DELIVERY",
                    "ERROR_MESSAGE": error[:1000] or "unknown",
                    "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttemptsExhausted",
                    "RETRY_ATTEMPTS": attempts,
                    "RULE_ARN": rule.arn,
                    "TARGET_ARN": target["Arn"],
                },
            )
            stats.dead_lettered += 1
        except targets.DeliveryError as exc:
            log.error("the dead-letter queue %s of rule %s is unreachable too: %s", dlq, rule.name, exc)

    def status(self) -> list[dict[str, Any]]:
        return [
            {"kind": "rule", "rule": arn.split("/")[-1], **vars(stats)}
            for arn, stats in sorted(self.stats.items())
        ]
