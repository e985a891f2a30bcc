"""Pipeline 4 end to end on the local cloud, with the real Terraform applied: landing bucket -> EventBridge ->
starter machine -> document workflow (validate, extract, Parallel sentiment + summary, store, notify; failures
recorded and notified). Every document uploaded is counted where it ended."""

from __future__ import annotations

import json
import uuid

import pytest

from localcloud.testing import wait_until
from sluicectl import documents

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def notices(deployed):
    """An SQS queue subscribed to the workflow notices topic (raw delivery: the body is the notice)."""
    sqs, sns = deployed.client("sqs"), deployed.client("sns")
    url = sqs.create_queue(QueueName=f"documents-notices-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=deployed.outputs["workflow_notices_topic_arn"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return Notices(sqs, url)


class Notices:
    def __init__(self, sqs, url: str) -> None:
        self.sqs, self.url, self.seen = sqs, url, []

    def read(self) -> list[dict]:
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return self.seen
            for message in messages:
                attributes = {
                    k: v["StringValue"] for k, v in (message.get("MessageAttributes") or {}).items()
                }
                self.seen.append({"attributes": attributes, "body": json.loads(message["Body"])})
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def for_prefix(self, prefix: str, outcome: str) -> list[dict]:
        return [
            n["body"]
            for n in self.read()
            if n["attributes"].get("outcome") == outcome
            and str(n["body"].get("object_key", "")).startswith(prefix)
        ]


def history(deployed, execution_arn: str) -> list[dict]:
    return deployed.client("stepfunctions").get_execution_history(
        executionArn=execution_arn, maxResults=1000
    )["events"]


def test_20_documents_results_sentiment_failures_and_a_retried_fault(deployed, notices):
    outputs, cloud = deployed.outputs, deployed.cloud
    machine = outputs["documents_state_machine_arn"]
    run = documents.Run.new(outputs["documents_prefix"])
    docs = documents.generate(20, run.prefix)
    good = [d for d in docs if d.is_valid]
    bad = [d for d in docs if not d.is_valid]
    assert (
        len(good) == 20
        and {d.kind for d in good} == {"pdf", "text"}
        and {d.expected for d in good} == {"positive", "negative"}
    )

    # One transient fault in one step: the first sentiment invocation fails, the state machine's Retry recovers.
    sentiment_function = outputs["documents_function_names"]["sentiment"]
    cloud.set_fault(sentiment_function, error_rate=1.0, remaining=1)
    try:
        documents.upload(deployed.client, outputs["landing_bucket_name"], run, docs)
        finished = documents.wait(deployed.client, machine, run, timeout=420)
    finally:
        cloud.clear_faults(sentiment_function)
    assert finished, {t.document.key: t.status for t in run.tracked if t.finished_at is None}

    rows = {
        row.key: row
        for row in documents.outcomes(
            deployed.client, run, outputs["documents_results_table_name"], outputs["failures_table_name"]
        )
    }
    counts = documents.count(list(rows.values()))
    # Every document ends with a result or a failure record, never both, never neither.
    assert counts.uploaded == len(docs) and counts.accounted == len(docs), counts
    assert counts.results == 20 and counts.succeeded == 20
    assert counts.failure_records == len(bad) and counts.failed == len(bad)
    assert counts.sentiment_right >= 18, [
        (r.key, r.compound) for r in rows.values() if r.expected in ("positive", "negative")
    ]
    for doc in good:
        assert rows[doc.key].keywords, doc.key

    # Bad input ends in Fail with its cause; the failure record says the same; no endless retries.
    tracked = {t.document.key: t for t in run.tracked}
    for doc in bad:
        row, item = rows[doc.key], tracked[doc.key]
        assert (item.status, item.error, row.error_code) == ("FAILED", doc.expected, doc.expected), doc.key
        assert item.cause and item.cause == row.reason, doc.key
        events = history(deployed, documents.execution_arn(machine, item.name))
        retried = [
            e
            for e in events
            if e["type"] == "TaskFailed"
            and "DocumentRejected" in json.dumps(e.get("taskFailedEventDetails", {}))
        ]
        assert len(retried) == 1, f"{doc.key}: a permanent error was retried"
        assert [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"][
            -2:
        ] == ["RecordFailure", "NotifyFailure"]
        assert events[-1]["type"] == "ExecutionFailed"

    # The injected fault was retried and is visible in exactly one execution's history, which then succeeded.
    faulted = []
    for doc in good:
        events = history(deployed, documents.execution_arn(machine, tracked[doc.key].name))
        failed = [
            e
            for e in events
            if e["type"] == "TaskFailed" and e["taskFailedEventDetails"].get("error") == "InjectedFault"
        ]
        if failed:
            faulted.append(doc.key)
            assert rows[doc.key].status == "SUCCEEDED"
            assert any(e["type"] == "TaskSucceeded" and e["id"] > failed[0]["id"] for e in events)
    assert len(faulted) == 1, faulted

    # SNS notices: one per document, processed or failed, with the cause.
    def notices_in() -> bool:
        return len(notices.for_prefix(run.prefix, "succeeded")) >= 20 and len(
            notices.for_prefix(run.prefix, "failed")
        ) >= len(bad)

    wait_until(notices_in, timeout=60, what="a notice per document")
    failed_notices = {n["object_key"]: n for n in notices.for_prefix(run.prefix, "failed")}
    assert set(failed_notices) == {d.key for d in bad}
    corrupt = failed_notices[next(d.key for d in bad if d.expected == "corrupt_pdf")]
    assert corrupt["error_code"] == "corrupt_pdf" and "cannot be read" in corrupt["reason"]
    assert {n["document_id"] for n in notices.for_prefix(run.prefix, "succeeded")} == {
        tracked[d.key].name for d in good
    }

    # Results are stored twice: a JSON object per document in the output bucket, matching the table.
    s3 = deployed.client("s3")
    sample = tracked[good[0].key]
    body = json.loads(
        s3.get_object(Bucket=outputs["output_bucket_name"], Key=f"documents/results/{sample.name}.json")[
            "Body"
        ].read()
    )
    assert body["object_key"] == good[0].key and body["sentiment"]["label"] == rows[good[0].key].sentiment
    assert body["summary"] and body["keywords"]


def test_the_same_upload_event_twice_starts_one_execution(deployed):
    outputs = deployed.outputs
    machine, starter = outputs["documents_state_machine_arn"], outputs["documents_starter_state_machine_arn"]
    sfn, events = deployed.client("stepfunctions"), deployed.client("events")
    run = documents.Run.new(outputs["documents_prefix"])
    doc = documents.generate(1, run.prefix, bad=False)[0]
    documents.upload(deployed.client, outputs["landing_bucket_name"], run, [doc])
    assert documents.wait(deployed.client, machine, run, timeout=120)
    tracked = run.tracked[0]
    assert tracked.status == "SUCCEEDED"

    def starter_runs() -> list[dict]:
        listed = sfn.list_executions(stateMachineArn=starter, maxResults=1000)["executions"]
        return [
            e
            for e in listed
            if run.run_id in json.dumps(sfn.describe_execution(executionArn=e["executionArn"])["input"])
        ]

    assert len(starter_runs()) == 1
    # The same "Object Created" event again, twice (as EventBridge may deliver it), and the same bytes uploaded
    # again (S3 sends a new event with the same key and ETag).
    landing = outputs["landing_bucket_name"]
    event = {
        "Source": "aws.s3",
        "DetailType": "Object Created",
        "Resources": [f"arn:aws:s3:::{landing}"],
        "Detail": json.dumps(
            {
                "version": "0",
                "bucket": {"name": landing},
                "object": {"key": doc.key, "size": len(doc.body), "etag": tracked.etag, "sequencer": "0"},
                "reason": "PutObject",
            }
        ),
    }
    assert events.put_events(Entries=[event, event])["FailedEntryCount"] == 0
    deployed.client("s3").put_object(Bucket=landing, Key=doc.key, Body=doc.body)

    def duplicates_settled() -> list[dict]:
        runs = starter_runs()
        return runs if len(runs) == 4 and all(r["status"] != "RUNNING" for r in runs) else []

    runs = wait_until(duplicates_settled, timeout=60, what="the starter to handle the 3 duplicate events")
    assert all(r["status"] == "SUCCEEDED" for r in runs)
    already = [
        r
        for r in runs
        if any(
            e["type"] == "SucceedStateEntered" and e["stateEnteredEventDetails"]["name"] == "AlreadyStarted"
            for e in history(deployed, r["executionArn"])
        )
    ]
    assert len(already) == 3
    named = [
        e
        for e in sfn.list_executions(stateMachineArn=machine, maxResults=1000)["executions"]
        if e["name"] == tracked.name
    ]
    assert len(named) == 1 and named[0]["status"] == "SUCCEEDED"


def test_generic_etl_runs_extract_transform_load_notify(deployed):
    outputs, s3, sfn = deployed.outputs, deployed.client("s3"), deployed.client("stepfunctions")
    key = f"etl/{uuid.uuid4().hex[:8]}.json"
    records = [
        {"id": "1", "name": " ada  lovelace", "amount": 10.5},
        {"id": "2", "name": "Ada Lovelace", "amount": 4.5},
        {"name": "no id", "amount": 1},
    ]
    s3.put_object(Bucket=outputs["landing_bucket_name"], Key=key, Body=json.dumps(records).encode())
    started = sfn.start_execution(
        stateMachineArn=outputs["etl_state_machine_arn"],
        input=json.dumps({"source": {"bucket": outputs["landing_bucket_name"], "key": key}}),
    )
    done = wait_until(
        lambda: (
            (d := sfn.describe_execution(executionArn=started["executionArn"]))["status"] != "RUNNING" and d
        ),
        timeout=60,
        what="the ETL execution",
    )
    assert done["status"] == "SUCCEEDED", done
    loaded = json.loads(done["output"])["loaded"]
    assert loaded["records"] == 2 and loaded["rejected"] == 1 and loaded["totals"] == {"Ada Lovelace": 15.0}
    body = json.loads(s3.get_object(Bucket=loaded["bucket"], Key=loaded["key"])["Body"].read())
    assert len(body["records"]) == 2

    # A source that is not JSON fails without retries, through Catch -> Fail.
    s3.put_object(Bucket=outputs["landing_bucket_name"], Key=key, Body=b"not json")
    started = sfn.start_execution(
        stateMachineArn=outputs["etl_state_machine_arn"],
        input=json.dumps({"source": {"bucket": outputs["landing_bucket_name"], "key": key}}),
    )
    failed = wait_until(
        lambda: (
            (d := sfn.describe_execution(executionArn=started["executionArn"]))["status"] != "RUNNING" and d
        ),
        timeout=60,
        what="the failing ETL execution",
    )
    assert (failed["status"], failed["error"]) == ("FAILED", "InvalidInput")
    assert sum(e["type"] == "TaskScheduled" for e in history(deployed, started["executionArn"])) == 1


def test_plan_after_apply_shows_no_changes_to_the_workflows(deployed):
    """The state machines, their roles, log groups and alarms read back as applied (moto returns what the provider
    compares). The whole stack is checked by test_ingest's plan test; this names the part that is ours."""
    changes = deployed.terraform.plan_changes()
    ours = [c for c in changes if any(part in c.get("address", "") for part in ("document", "etl", "workflow"))]
    assert ours == []
