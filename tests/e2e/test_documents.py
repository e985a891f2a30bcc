"""Pipeline 4 end to end on the local cloud, with the real Terraform applied: landing bucket -> EventBridge ->
start function -> document workflow (extract: checked and read in one GET, analyse = a nested EXPRESS workflow running sentiment and
summary in parallel, store, notify; failures recorded and notified). Every document uploaded is counted where it
ended."""

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

    # One transient fault in one step: the first extract invocation fails, the state machine's Retry recovers (in
    # the Standard workflow's history; the nested Express analysis retries its steps the same way, but Express
    # executions have no history on AWS to show it).
    extract_function = outputs["documents_function_names"]["extract"]
    cloud.set_fault(extract_function, error_rate=1.0, remaining=1)
    try:
        documents.upload(deployed.client, outputs["landing_bucket_name"], run, docs)
        finished = documents.wait(deployed.client, machine, run, timeout=420)
    finally:
        cloud.clear_faults(extract_function)
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
    # (The first extract invocation may be a bad document's: it then fails with its own cause, asserted above, after
    # the retry.)
    faulted = []
    for doc in docs:
        events = history(deployed, documents.execution_arn(machine, tracked[doc.key].name))
        failed = [
            e
            for e in events
            if e["type"] == "TaskFailed" and e["taskFailedEventDetails"].get("error") == "InjectedFault"
        ]
        if failed:
            faulted.append(doc.key)
            entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
            assert entered[:1] == ["Extract"], entered
            retried = [
                e for e in events if e["id"] > failed[0]["id"] and e["type"] in ("TaskSucceeded", "TaskFailed")
            ]
            assert retried, events  # the step ran again after the fault
            if doc.is_valid:
                assert rows[doc.key].status == "SUCCEEDED"
                assert retried[0]["type"] == "TaskSucceeded"
                assert entered == ["Extract", "Analyse", "Store", "Notify"], entered
    assert len(faulted) == 1, faulted

    # A document that succeeded entered 4 states of the Standard workflow (what it is billed for); the analysis
    # ran as one nested Express execution, started by the Analyse task.
    sample_events = history(deployed, documents.execution_arn(machine, tracked[good[0].key].name))
    assert sum(e["type"].endswith("StateEntered") for e in sample_events) == 4
    nested = [
        e
        for e in sample_events
        if e["type"] == "TaskSucceeded" and e["taskSucceededEventDetails"].get("resourceType") == "states"
    ]
    assert len(nested) == 1
    child = json.loads(nested[0]["taskSucceededEventDetails"]["output"])["ExecutionArn"]
    assert child.split(":")[6] == outputs["documents_analysis_state_machine_arn"].rsplit(":", 1)[-1]

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
    outputs, cloud = deployed.outputs, deployed.cloud
    machine, start = outputs["documents_state_machine_arn"], outputs["documents_start_function_name"]
    sfn, events = deployed.client("stepfunctions"), deployed.client("events")

    def start_stats() -> dict:
        return cloud.status()["functions"].get(start, {})

    before = start_stats()
    run = documents.Run.new(outputs["documents_prefix"])
    doc = documents.generate(1, run.prefix, bad=False)[0]
    documents.upload(deployed.client, outputs["landing_bucket_name"], run, [doc])
    assert documents.wait(deployed.client, machine, run, timeout=120)
    tracked = run.tracked[0]
    assert tracked.status == "SUCCEEDED"
    # Other tests' uploads may be starting too: count from the invocations seen once this one is done.
    first = start_stats()
    assert first.get("invocations", 0) > before.get("invocations", 0)

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

    # The start function handled the 3 duplicates (ExecutionAlreadyExists is its success: no error, no retry).
    def duplicates_handled() -> dict:
        now = start_stats()
        return now if now.get("invocations", 0) >= first.get("invocations", 0) + 3 else {}

    now = wait_until(duplicates_handled, timeout=60, what="the start function to handle the 3 duplicate events")
    assert now.get("errors", 0) == first.get("errors", 0), now.get("last_error")
    assert now.get("async_retries", 0) == first.get("async_retries", 0)
    named = [
        e
        for e in sfn.list_executions(stateMachineArn=machine, maxResults=1000)["executions"]
        if e["name"] == tracked.name
    ]
    assert len(named) == 1 and named[0]["status"] == "SUCCEEDED"
    # Nothing was dead-lettered as a failed start.
    attributes = deployed.client("sqs").get_queue_attributes(
        QueueUrl=outputs["documents_start_dlq_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_a_300_kb_text_document_succeeds_with_its_text_outside_the_state(deployed):
    """A state holds at most 256 KiB: a text this large once failed its execution with States.DataLimitExceeded
    and no failure record. Texts over 32 KiB now stay in the output bucket; the state carries their location."""
    outputs = deployed.outputs
    machine = outputs["documents_state_machine_arn"]
    run = documents.Run.new(outputs["documents_prefix"])
    paragraph = " ".join(documents.POSITIVE) + "\n"
    body = paragraph.encode() * (300_000 // len(paragraph) + 1)
    doc = documents.Document(f"{run.prefix}large-positive.txt", body, "text", "positive")
    assert 300_000 <= len(body) <= 5 * 1024 * 1024
    documents.upload(deployed.client, outputs["landing_bucket_name"], run, [doc])
    assert documents.wait(deployed.client, machine, run, timeout=300)
    tracked = run.tracked[0]
    assert (tracked.status, tracked.error) == ("SUCCEEDED", None), tracked.cause
    [row] = documents.outcomes(
        deployed.client, run, outputs["documents_results_table_name"], outputs["failures_table_name"]
    )
    assert row.as_expected and row.error_code is None, row
    # No state of the execution carried the text: every input and output in its history is small.
    sizes = [
        len(details.get("input") or details.get("output") or "")
        for e in history(deployed, documents.execution_arn(machine, tracked.name))
        for key, details in e.items()
        if key.endswith("EventDetails") and isinstance(details, dict)
    ]
    assert sizes and max(sizes) < 32 * 1024, max(sizes)


def test_an_analysis_that_keeps_failing_ends_in_a_failure_record(deployed, notices):
    """A transient fault in the nested Express analysis that outlasts its retries: the child fails, the Standard
    workflow's Analyse task fails with States.TaskFailed (not retried again: the child retried), and the document
    ends in a failure record with the step's own error, an SNS failure notice and Fail."""
    outputs, cloud = deployed.outputs, deployed.cloud
    machine = outputs["documents_state_machine_arn"]
    run = documents.Run.new(outputs["documents_prefix"])
    doc = documents.generate(1, run.prefix, bad=False)[0]
    summarize = outputs["documents_function_names"]["summarize"]
    before = cloud.status()["functions"].get(summarize, {}).get("invocations", 0)
    cloud.set_fault(summarize, error_rate=1.0)
    try:
        documents.upload(deployed.client, outputs["landing_bucket_name"], run, [doc])
        assert documents.wait(deployed.client, machine, run, timeout=180)
    finally:
        cloud.clear_faults(summarize)
    tracked = run.tracked[0]
    assert (tracked.status, tracked.error) == ("FAILED", "InjectedFault"), (tracked.status, tracked.error)
    # The child's Retry: 1 attempt + workflow_retry_max_attempts (3) retries, once (the parent did not retry).
    assert cloud.status()["functions"][summarize]["invocations"] - before == 4
    (row,) = documents.outcomes(
        deployed.client, run, outputs["documents_results_table_name"], outputs["failures_table_name"]
    )
    assert row.sentiment is None and row.error_code == "InjectedFault" and row.reason == tracked.cause
    events = history(deployed, documents.execution_arn(machine, tracked.name))
    failed = [e for e in events if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["States.TaskFailed"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
    assert entered == ["Extract", "Analyse", "RecordFailure", "NotifyFailure"], entered
    wait_until(
        lambda: notices.for_prefix(run.prefix, "failed"), timeout=60, what="the failure notice of the document"
    )


def test_an_aborted_execution_ends_in_exactly_one_failure_record(deployed):
    """An execution stopped while it runs (ABORTED) never reaches its Catch path: Step Functions' status change
    event -> the documents-execution-ended rule -> a failure record `execution_aborted` with the execution's ARN;
    a document that failed through its Catch path keeps the one record RecordFailure wrote."""
    outputs, cloud = deployed.outputs, deployed.cloud
    machine, sfn, ddb = outputs["documents_state_machine_arn"], deployed.client("stepfunctions"), deployed.client("dynamodb")
    run = documents.Run.new(outputs["documents_prefix"])
    doc = documents.generate(1, run.prefix, bad=False)[0]
    # The first extract fails: the execution waits for its Retry (1 s), so it is surely running when stopped.
    extract = outputs["documents_function_names"]["extract"]
    cloud.set_fault(extract, error_rate=1.0, remaining=1)
    try:
        documents.upload(deployed.client, outputs["landing_bucket_name"], run, [doc])
        tracked = run.tracked[0]
        arn = documents.execution_arn(machine, tracked.name)

        def running() -> bool:
            try:
                return sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
            except sfn.exceptions.ExecutionDoesNotExist:
                return False

        wait_until(running, timeout=60, what="the document's execution to start")
        sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by the e2e test")
        assert documents.wait(deployed.client, machine, run, timeout=120)
    finally:
        cloud.clear_faults(extract)
    assert tracked.status == "ABORTED"

    item_id = f"{run.bucket}/{doc.key}#{tracked.etag}"

    def records() -> list[dict]:
        return ddb.query(
            TableName=outputs["failures_table_name"],
            KeyConditionExpression="pipeline = :p AND begins_with(item_id, :i)",
            ExpressionAttributeValues={":p": {"S": "documents"}, ":i": {"S": f"{run.bucket}/{run.prefix}"}},
            ConsistentRead=True,
        )["Items"]

    (record,) = wait_until(records, timeout=60, what="the failure record of the aborted execution")
    assert record["item_id"]["S"] == item_id
    assert record["error_code"]["S"] == "execution_aborted" and record["stage"]["S"] == "workflow"
    assert record["execution_arn"]["S"] == arn and record["message_id"]["S"] == tracked.name
    (row,) = documents.outcomes(deployed.client, run, outputs["documents_results_table_name"], outputs["failures_table_name"])
    assert row.error_code == "execution_aborted" and row.sentiment is None
    entered = [e["stateEnteredEventDetails"]["name"] for e in history(deployed, arn) if e["type"] == "TaskStateEntered"]
    assert "RecordFailure" not in entered, entered

    # A document the Catch path recorded (bad input): its FAILED status change writes nothing more.
    ended = outputs["documents_ended_function_name"]
    before = cloud.status()["functions"].get(ended, {}).get("invocations", 0)
    bad_run = documents.Run.new(outputs["documents_prefix"])
    bad = documents.generate(0, bad_run.prefix)[0]  # bad inputs only: the first is a corrupt PDF
    documents.upload(deployed.client, outputs["landing_bucket_name"], bad_run, [bad])
    assert documents.wait(deployed.client, machine, bad_run, timeout=120)
    assert bad_run.tracked[0].status == "FAILED"
    wait_until(
        lambda: cloud.status()["functions"].get(ended, {}).get("invocations", 0) > before,
        timeout=60,
        what="the execution-ended function to see the FAILED execution",
    )
    (bad_row,) = documents.outcomes(deployed.client, bad_run, outputs["documents_results_table_name"], outputs["failures_table_name"])
    assert bad_row.error_code == bad.expected
    items = ddb.query(
        TableName=outputs["failures_table_name"],
        KeyConditionExpression="pipeline = :p AND begins_with(item_id, :i)",
        ExpressionAttributeValues={":p": {"S": "documents"}, ":i": {"S": f"{bad_run.bucket}/{bad_run.prefix}"}},
        ConsistentRead=True,
    )["Items"]
    assert len(items) == 1 and "execution_arn" not in items[0], items
    stats = cloud.status()["functions"][ended]
    assert not stats.get("errors"), stats.get("last_error")
    attributes = deployed.client("sqs").get_queue_attributes(
        QueueUrl=outputs["documents_ended_dlq_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


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
