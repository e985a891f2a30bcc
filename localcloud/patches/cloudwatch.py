"""CloudWatch: percentile statistics (`p50`, `p99.9`) in GetMetricData and GetMetricStatistics' extended
statistics. moto answers only Sum/Average/Minimum/Maximum/SampleCount and returns null for anything else, so
the latency rows of `sluicectl status` and a dashboard's p99 would be empty locally."""

from __future__ import annotations

import math
import re
from typing import Any

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile, as CloudWatch computes it over raw values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def install() -> None:
    from moto.cloudwatch import models

    original = models.Statistics.get_statistics_for_type

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        match = _PERCENTILE.match(stat or "")
        if not match:
            return original(self, stat)
        values = list(self.metric_single_values_list)
        # Aggregated data (StatisticValues) has no distribution: its average stands in for each sample.
        for datum in self.metric_aggregated_list:
            if datum.sample_count:
                values.extend([datum.sum / datum.sample_count] * int(datum.sample_count))
        return percentile(values, float(match.group(1)))

    models.Statistics.get_statistics_for_type = get_statistics_for_type
