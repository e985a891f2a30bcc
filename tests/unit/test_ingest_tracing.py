"""With tracing on (as in Lambda), the handler still processes a batch: X-Ray is only observed, never needed.

Runs in a subprocess because Tracer reads its configuration when ``sluice.observability`` is first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT, UNIT_ENV

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path[:0] = [sys.argv[1], sys.argv[2], sys.argv[3]]
    import conftest as c
    from moto import mock_aws

    with mock_aws():
        import boto3
        s3, ddb, sqs = boto3.client("s3"), boto3.client("dynamodb"), boto3.client("sqs")
        for bucket in (c.LANDING_BUCKET, c.OUTPUT_BUCKET):
            s3.create_bucket(Bucket=bucket)
        c._table(ddb, c.RESULTS_TABLE, "object_key")
        c._table(ddb, c.FAILURES_TABLE, "pipeline", "item_id")
        c._table(ddb, c.IDEMPOTENCY_TABLE, "id")
        sqs.create_queue(QueueName=c.INGEST_DLQ)
        from ingest_processor import handler

        assert handler.tracer.disabled is False
        order = {"order_id": "1", "customer_id": "c", "category": "books", "created_at": "2024-01-01T00:00:00Z",
                 "items": [{"sku": "a", "quantity": 1, "price": 1}]}
        put = s3.put_object(Bucket=c.LANDING_BUCKET, Key="incoming/a.json", Body=json.dumps(order).encode())
        good = c.s3_object_created(c.LANDING_BUCKET, "incoming/a.json", put["ETag"].strip('"'))
        missing_bucket = c.s3_object_created("sluice-test-missing", "incoming/b.json", "0" * 32)
        event = c.sqs_event(c.sqs_record(good), c.sqs_record("junk"), c.sqs_record(missing_bucket, message_id="t"))
        print("RESULT " + json.dumps(handler.handler(event, c.FakeLambdaContext())))
    """
)


def test_handler_works_with_tracing_enabled(tmp_path: Path) -> None:
    script = tmp_path / "traced.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(UNIT_ENV)
    env.update(
        POWERTOOLS_TRACE_DISABLED="0",
        LAMBDA_TASK_ROOT=str(tmp_path),
        AWS_LAMBDA_FUNCTION_NAME="sluice-test-ingest-processor",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    )
    paths = [
        str(ROOT / "tests" / "unit"),
        str(ROOT / "layers" / "shared" / "python"),
        str(ROOT / "functions"),
    ]
    run = subprocess.run(
        [sys.executable, str(script), *paths],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    (line,) = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert json.loads(line.removeprefix("RESULT ")) == {"batchItemFailures": [{"itemIdentifier": "t"}]}
