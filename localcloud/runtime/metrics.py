"""Embedded Metric Format → CloudWatch metrics, as Lambda's log pipeline does on AWS.

Functions write EMF documents (Powertools Metrics) to stdout; on AWS, CloudWatch Logs turns each into metric
data. Here a LogStore listener does it: every log line holding an `_aws.CloudWatchMetrics` directive becomes
PutMetricData in moto's CloudWatch (in process, no HTTP), so ListMetrics / GetMetricData / dashboards see the
functions' own metrics locally. Hand-written because no library parses EMF back into metric data (aws-embedded-
metrics and Powertools only write it); the format is small: https://docs.aws.amazon.com/AmazonCloudWatch/latest/
monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from .logs import LogLine

log = logging.getLogger("localcloud.metrics")


def _values(raw: Any) -> list[float]:
    items = raw if isinstance(raw, list) else [raw]
    return [float(v) for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]


def metric_data(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(namespace, PutMetricData MetricData) for each directive of an EMF document; [] if it is not one."""
    meta = document.get("_aws")
    if not isinstance(meta, dict) or not isinstance(meta.get("CloudWatchMetrics"), list):
        return []
    stamp = meta.get("Timestamp")
    # moto stores naive UTC datetimes (its own utcnow()); EMF timestamps are epoch milliseconds.
    timestamp = datetime.fromtimestamp(stamp / 1000.0, tz=UTC).replace(tzinfo=None) if isinstance(stamp, (int, float)) else None
    out = []
    for directive in meta["CloudWatchMetrics"]:
        namespace = directive.get("Namespace")
        if not namespace:
            continue
        dimension_sets = directive.get("Dimensions") or [[]]
        data = []
        for metric in directive.get("Metrics") or []:
            name = metric.get("Name")
            values = _values(document.get(name))
            if not name or not values:
                continue
            counts = Counter(values)
            for keys in dimension_sets:
                if any(not isinstance(document.get(k), str) for k in keys):
                    continue  # a dimension without a string value: CloudWatch drops the metric too
                datum: dict[str, Any] = {
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": document[k]} for k in keys],
                    "Values": list(counts),
                    "Counts": [float(c) for c in counts.values()],
                }
                if metric.get("Unit"):
                    datum["Unit"] = metric["Unit"]
                if timestamp is not None:
                    datum["Timestamp"] = timestamp
                data.append(datum)
        if data:
            out.append((namespace, data))
    return out


class EmfForwarder:
    """LogStore listener: forwards EMF documents to moto's CloudWatch in the cloud's account and region."""

    def __init__(self, account_id: str, region: str) -> None:
        self._account_id = account_id
        self._region = region
        self._lock = threading.Lock()  # moto's CloudWatch backend appends to plain lists
        self.documents = 0
        self.datapoints = 0
        self.errors = 0

    def __call__(self, line: LogLine) -> None:
        message = line.message
        if '"_aws"' not in message or not message.lstrip().startswith("{"):
            return
        try:
            document = json.loads(message)
        except ValueError:
            return
        if not isinstance(document, dict):
            return
        batches = metric_data(document)
        if not batches:
            return
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends[self._account_id][self._region]
        try:
            with self._lock:
                for namespace, data in batches:
                    backend.put_metric_data(namespace, data)
                    self.datapoints += sum(int(sum(d["Counts"])) for d in data)
                self.documents += 1
        except Exception:
            self.errors += 1
            log.exception("EMF document from %s could not be stored", line.function_name)

    def status(self) -> dict[str, int]:
        return {"documents": self.documents, "datapoints": self.datapoints, "errors": self.errors}
