"""The scheduled batch end to end on the local cloud: orders through pipeline 1, then the daily EventBridge
schedule fired by moving the local cloud's clock to its next occurrence -> the report of the right day (the day
before the scheduled time) with exact totals per category, written once; and a replay for a past day."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from localcloud.testing import wait_until
from sluicectl import ingest, retraining

pytestmark = pytest.mark.e2e


def _order(n: int, category: str) -> dict:
    items = [
        {"sku": f"S{n}-{i}", "quantity": 1 + (n + i) % 4, "price": round(0.99 + 3.37 * ((n * 7 + i) % 11), 2)}
        for i in range(1 + n % 3)
    ]
    return {
        "order_id": f"o-{n}",
        "customer_id": f"c-{n % 5}",
        "category": category,
        "created_at": "2026-01-01T00:00:00Z",
        "items": items,
    }


def _expected(orders: list[dict]) -> dict[str, dict]:
    rows: dict[str, dict] = defaultdict(
        lambda: {"objects": 0, "total_items": 0, "total_value": Decimal(0), "item_count": 0}
    )
    for order in orders:
        row = rows[order["category"]]
        row["objects"] += 1
        row["total_items"] += sum(i["quantity"] for i in order["items"])
        row["total_value"] += sum(i["quantity"] * Decimal(str(i["price"])) for i in order["items"])
        row["item_count"] += len(order["items"])
    return {k: {**v, "total_value": f"{v['total_value']:.2f}"} for k, v in rows.items()}


def test_the_daily_schedule_reports_yesterdays_processed_objects_by_category(deployed) -> None:
    outputs, s3, ddb = deployed.outputs, deployed.client("s3"), deployed.client("dynamodb")
    run = uuid.uuid4().hex[:8]
    orders = [_order(n, f"e2e-{run}-{('toys', 'books', 'garden')[n % 3]}") for n in range(30)]
    keys = [f"incoming/report-{run}/{n}.json" for n in range(len(orders))]
    for key, order in zip(keys, orders, strict=True):
        s3.put_object(Bucket=outputs["landing_bucket_name"], Key=key, Body=json.dumps(order).encode())

    def processed() -> list[dict] | None:
        items = [
            ddb.get_item(
                TableName=outputs["ingest_results_table_name"],
                Key={"object_key": {"S": k}},
                ConsistentRead=True,
            ).get("Item")
            for k in keys
        ]
        return items if all(items) else None

    items = wait_until(processed, timeout=120, what="the orders processed by pipeline 1")
    days = {item["processed_at"]["S"][:10] for item in items}
    assert len(days) == 1, f"processed across midnight UTC: {days}"
    day = date.fromisoformat(days.pop())

    # Move the clock to the schedule's next occurrence: the rule fires with that scheduled time.
    rule = outputs["daily_report_rule_name"]
    upcoming = next(r for r in deployed.cloud.schedules() if r["name"] == rule)["next"][0]
    scheduled = datetime.fromisoformat(upcoming.replace("Z", "+00:00"))
    assert retraining.day_before(upcoming) == day, (
        f"the local cloud's clock is already past {day}: next firing {upcoming}"
    )
    now = datetime.fromisoformat(deployed.cloud.advance_clock(0)["now"])
    deployed.cloud.advance_clock((scheduled - now).total_seconds() + 1)

    report = retraining.wait_report(s3, outputs["output_bucket_name"], day, timeout=120)
    assert report["date"] == day.isoformat() and report["trigger"]["scheduled_time"] == upcoming
    mine = {name: row for name, row in report["categories"].items() if name.startswith(f"e2e-{run}-")}
    assert mine == _expected(orders)
    # The totals are the sum of every category of the day (other tests' orders included), and the CSV agrees.
    assert (
        report["totals"]["objects"] == sum(r["objects"] for r in report["categories"].values()) >= len(orders)
    )
    csv_rows = (
        s3.get_object(Bucket=outputs["output_bucket_name"], Key=f"reports/{day}/by_category.csv")["Body"]
        .read()
        .decode()
        .splitlines()
    )
    assert csv_rows[0] == "category,objects,total_items,total_value,item_count" and csv_rows[-1].startswith(
        "TOTAL,"
    )
    assert len(csv_rows) == len(report["categories"]) + 2

    # Firing again the same day (a retry, a second firing) rewrites nothing.
    fired = deployed.cloud.fire_schedule(rule)
    assert retraining.day_before(fired["time"]) == day
    function = outputs["daily_report_function_name"]

    def runs_done() -> int:
        mapping = next(r for r in deployed.cloud.status()["deliveries"] if r.get("function") == function)
        return mapping["deleted"] if mapping["deleted"] >= 2 else 0

    assert (
        wait_until(runs_done, timeout=90, what="the second run to end") == 2
    )  # both messages ended, no retry
    assert ingest.peek(deployed.client("sqs"), outputs["daily_report_dlq_url"]) == []
    versions = s3.list_object_versions(
        Bucket=outputs["output_bucket_name"], Prefix=f"reports/{day}/report.json"
    ).get("Versions", [])
    assert len(versions) == 1
    assert (
        json.loads(
            s3.get_object(Bucket=outputs["output_bucket_name"], Key=f"reports/{day}/report.json")[
                "Body"
            ].read()
        )
        == report
    )


def test_a_replayed_day_reports_that_day_exactly(deployed) -> None:
    """A late replay (detail.date) for a past day: only that day's results count, edges included."""
    outputs, s3, ddb = deployed.outputs, deployed.client("s3"), deployed.client("dynamodb")
    day = date(2020, 2, 29)
    rows = [
        ("2020-02-29T00:00:00.000Z", "a", 2, "10.50", 1),
        ("2020-02-29T12:30:00.000Z", "a", 1, "0.01", 1),
        ("2020-02-29T23:59:59.999Z", "b", 7, "700.00", 3),
        ("2020-02-28T23:59:59.999Z", "a", 100, "1000.00", 1),  # the day before
        ("2020-03-01T00:00:00.000Z", "b", 100, "1000.00", 1),  # the day after
    ]
    run = uuid.uuid4().hex[:8]
    for n, (stamp, category, items, value, lines) in enumerate(rows):
        ddb.put_item(
            TableName=outputs["ingest_results_table_name"],
            Item={
                "object_key": {"S": f"incoming/replay-{run}/{n}.json"},
                "etag": {"S": "e"},
                "category": {"S": f"replay-{category}"},
                "total_items": {"N": str(items)},
                "total_value": {"N": value},
                "item_count": {"N": str(lines)},
                "processed_at": {"S": stamp},
            },
        )
    rule_arn = (
        f"arn:aws:events:{outputs['region']}:{outputs['account_id']}:rule/{outputs['daily_report_rule_name']}"
    )
    retraining.replay_daily_report(deployed.client("sqs"), outputs["daily_report_queue_url"], rule_arn, day)
    report = retraining.wait_report(s3, outputs["output_bucket_name"], day, timeout=120)
    assert report["date"] == "2020-02-29" and report["source"]["processed_at"] == {
        "from": "2020-02-29",
        "to": "2020-03-01",
    }
    assert report["categories"] == {
        "replay-a": {"objects": 2, "total_items": 3, "total_value": "10.51", "item_count": 2},
        "replay-b": {"objects": 1, "total_items": 7, "total_value": "700.00", "item_count": 3},
    }
    assert report["totals"] == {
        "objects": 3,
        "total_items": 10,
        "total_value": "710.51",
        "item_count": 5,
        "categories": 2,
    }
    assert datetime.fromisoformat(report["generated_at"].replace("Z", "+00:00")) > datetime(
        2026, 1, 1, tzinfo=UTC
    )
