"""The one place Logger, Metrics and Tracer are created.

Handlers import these and only decorate::

    from sluice.observability import logger, metrics, tracer

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event, context): ...

Configuration comes from the environment the lambda_function module sets: ``POWERTOOLS_SERVICE_NAME``
(service, also the ``service`` metric dimension), ``POWERTOOLS_METRICS_NAMESPACE`` (``Sluice``),
``POWERTOOLS_LOG_LEVEL``. Tracing is on when running in Lambda; ``POWERTOOLS_TRACE_DISABLED=1`` turns it off
(tests). Metrics are CloudWatch embedded metric format (EMF) lines in the function's log.

``tracer`` is created on first access, not at import: creating a Tracer loads the X-Ray SDK, which builds two
botocore clients for its sampler (~250 ms of cold start, measured). Functions that trace import it as before
(``from sluice.observability import tracer``); a latency-bound function that relies on Lambda's own active
tracing (the inference worker) never touches it and never pays for it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit

__all__ = ["MetricUnit", "count", "logger", "metrics"]  # and `tracer`, built on first access (below)

logger = Logger(utc=True)
metrics = Metrics()


@functools.cache
def _tracer() -> Tracer:
    return Tracer()


def __getattr__(name: str) -> Any:  # PEP 562: `tracer` is built on first use
    if name == "tracer":
        return _tracer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def count(name: str, value: float = 1, *, dimensions: Mapping[str, str] | None = None) -> None:
    """Count ``name``.

    Without ``dimensions`` the value joins the invocation's metrics (flushed by ``log_metrics``); with them it is
    emitted at once as its own EMF document, so per-value dimensions (e.g. ``error_code``) do not leak onto the
    other metrics of the invocation. The ``service`` dimension is kept in both cases.
    """
    if not dimensions:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        return
    defaults = dict(metrics.default_dimensions)
    if metrics.service:
        defaults.setdefault("service", str(metrics.service))
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=metrics.namespace,
        default_dimensions=defaults,
    ) as metric:
        for key, dim_value in dimensions.items():
            metric.add_dimension(name=key, value=dim_value)
