"""Pipeline 4's steps (functions/document_steps) with moto: each step's logic and the handlers' error contract."""

from __future__ import annotations

import hashlib
import importlib
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluicectl import documents as samples
from tests.unit.conftest import FAILURES_TABLE, LANDING_BUCKET, OUTPUT_BUCKET

RESULTS = "sluice-test-document-results"
POSITIVE = [
    "The launch was a wonderful success and customers are delighted.",
    "Our team delivered excellent results and the board praised the great work.",
]
NEGATIVE = [
    "The launch was a terrible failure and customers are furious.",
    "Our team missed every target and the board criticised the awful planning.",
]


@pytest.fixture
def logic(unit_env: dict[str, str]) -> Any:
    return importlib.import_module("document_steps.logic")


@pytest.fixture
def handler(unit_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("RESULTS_TABLE", RESULTS)
    module = importlib.import_module("document_steps.handler")
    module.settings.cache_clear()
    yield module
    module.settings.cache_clear()


@pytest.fixture
def stores(resources) -> Any:
    resources.dynamodb.create_table(
        TableName=RESULTS,
        KeySchema=[{"AttributeName": "document_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "document_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return resources


def put(s3: Any, key: str, body: bytes) -> dict[str, Any]:
    etag = s3.put_object(Bucket=LANDING_BUCKET, Key=key, Body=body)["ETag"].strip('"')
    return {
        "document": {"bucket": LANDING_BUCKET, "key": key, "etag": etag, "size": len(body)},
        "execution": {"name": "exec-1"},
    }


def test_document_id_is_the_execution_name_the_starter_computes(logic) -> None:
    # sha256("<key>#<etag>") in hex, as start_workflow names the executions.
    assert (
        logic.document_id("documents/a b.pdf", "abc") == hashlib.sha256(b"documents/a b.pdf#abc").hexdigest()
    )
    name = logic.document_id("documents/" + "x" * 900 + ".pdf", "e" * 32)
    assert len(name) == 64 and name.isalnum()
    # The key as the S3 event carries it: URL-encoded.
    assert samples.document_id("documents/a b.pdf", '"abc"') == logic.document_id("documents/a+b.pdf", "abc")


def test_extract_checks_pdf_and_text(logic, stores) -> None:
    pdf = put(stores.s3, "documents/a.pdf", samples.pdf_bytes(POSITIVE))
    out = logic.extract(pdf, stores.s3, OUTPUT_BUCKET, logic.Limits())
    assert out["document"]["kind"] == "pdf" and out["document"]["document_id"] == logic.document_id(
        "documents/a.pdf", pdf["document"]["etag"]
    )
    assert out["document"]["size"] == pdf["document"]["size"]
    assert out["execution"] == {"name": "exec-1"}  # the rest of the state is kept
    text = put(stores.s3, "documents/a.TXT", b"hello there")
    assert logic.extract(text, stores.s3, OUTPUT_BUCKET, logic.Limits())["document"]["kind"] == "text"
    # Event keys are URL-encoded; the state carries the real key, the id hashes the event's.
    spaced = put(stores.s3, "documents/my report.txt", b"hello there")
    spaced["document"]["key"] = "documents/my+report.txt"
    out = logic.extract(spaced, stores.s3, OUTPUT_BUCKET, logic.Limits())["document"]
    assert out["key"] == "documents/my report.txt" and out["document_id"] == logic.document_id(
        "documents/my+report.txt", out["etag"]
    )


@pytest.mark.parametrize(
    ("key", "body", "limits", "code"),
    [
        ("documents/a.docx", b"PK..", {}, "unsupported_type"),
        ("documents/noext", b"x", {}, "unsupported_type"),
        ("documents/big.txt", b"x" * 101, {"max_bytes": 100}, "object_too_large"),
        ("documents/empty.txt", b"", {}, "empty_object"),
        ("documents/fake.pdf", b"just text, not a PDF", {}, "corrupt_pdf"),
    ],
)
def test_extract_rejects_bad_documents_before_reading_them(logic, stores, key, body, limits, code) -> None:
    event = put(stores.s3, key, body)
    with pytest.raises(logic.PermanentError) as raised:
        logic.extract(event, stores.s3, OUTPUT_BUCKET, logic.Limits(**limits))
    assert raised.value.code == code and raised.value.stage == "validate"
    assert "Contents" not in stores.s3.list_objects_v2(Bucket=OUTPUT_BUCKET, Prefix="documents/text/")


def test_extract_rejects_missing_and_changed_objects(logic, stores) -> None:
    event = put(stores.s3, "documents/a.txt", b"first")
    stores.s3.put_object(Bucket=LANDING_BUCKET, Key="documents/a.txt", Body=b"second")
    with pytest.raises(logic.DocumentChanged):
        logic.extract(event, stores.s3, OUTPUT_BUCKET, logic.Limits())
    event["document"]["key"] = "documents/gone.txt"
    with pytest.raises(logic.ObjectNotFound):
        logic.extract(event, stores.s3, OUTPUT_BUCKET, logic.Limits())
    with pytest.raises(logic.InvalidEvent):
        logic.extract({"document": {"bucket": LANDING_BUCKET}}, stores.s3, OUTPUT_BUCKET, logic.Limits())


def test_extract_writes_the_text_to_the_output_bucket(logic, stores) -> None:
    out = logic.extract(
        put(stores.s3, "documents/a.pdf", samples.pdf_bytes(POSITIVE, pages=2)), stores.s3, OUTPUT_BUCKET, logic.Limits()
    )
    text = stores.s3.get_object(Bucket=OUTPUT_BUCKET, Key=out["text"]["key"])["Body"].read().decode()
    assert out["text"]["key"] == f"documents/text/{out['document']['document_id']}.txt"
    assert out["text"]["pages"] == 2 and out["text"]["chars"] == len(text)
    assert "wonderful success" in text and "page 2" in text
    assert out["text"]["body"] == text  # small: carried in the state as well
    assert logic.read_text(out, stores.s3) == text


def test_a_large_text_is_read_back_from_the_output_bucket(logic, stores) -> None:
    """Over INLINE_TEXT_BYTES the state carries only the text's location (a state holds at most 256 KiB)."""
    body = (" ".join(POSITIVE) + "\n").encode() * (logic.INLINE_TEXT_BYTES // 40)
    out = logic.extract(put(stores.s3, "documents/long.txt", body), stores.s3, OUTPUT_BUCKET, logic.Limits())
    assert "body" not in out["text"] and out["text"]["chars"] > logic.INLINE_TEXT_BYTES
    assert logic.read_text(out, stores.s3) == logic.normalise(body.decode())


@pytest.mark.parametrize(
    ("key", "make", "code"),
    [
        ("documents/enc.pdf", lambda: samples.encrypted_pdf(POSITIVE), "encrypted_pdf"),
        ("documents/corrupt.pdf", lambda: samples.corrupt_pdf(POSITIVE), "corrupt_pdf"),
        ("documents/image.pdf", samples.image_only_pdf, "no_text"),
        ("documents/long.pdf", lambda: samples.pdf_bytes(POSITIVE[:1], pages=4), "too_many_pages"),
        ("documents/latin1.txt", lambda: "Caf\xe9".encode("latin-1"), "invalid_encoding"),
        ("documents/blank.txt", lambda: b"  \n\t 123 \n", "no_text"),
    ],
)
def test_extract_rejects_unreadable_documents(logic, stores, key, make, code) -> None:
    event = put(stores.s3, key, make())
    with pytest.raises(logic.PermanentError) as raised:
        logic.extract(event, stores.s3, OUTPUT_BUCKET, logic.Limits(max_pages=3))
    assert raised.value.code == code
    assert raised.value.reason


def test_a_pdf_encrypted_without_a_user_password_is_read(logic) -> None:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(samples.pdf_bytes(POSITIVE))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    text, pages = logic.pdf_text(buffer.getvalue(), 10)
    assert pages == 1 and "wonderful success" in text


def test_sentiment_sign(logic) -> None:
    positive, negative = logic.sentiment_of(" ".join(POSITIVE)), logic.sentiment_of(" ".join(NEGATIVE))
    assert positive["label"] == "positive" and positive["compound"] > 0.05 and positive["sentences"] == 2
    assert negative["label"] == "negative" and negative["compound"] < -0.05
    assert logic.sentiment_of("The meeting is on the second floor.")["label"] == "neutral"


def test_summary_picks_keyword_dense_sentences_in_document_order(logic) -> None:
    text = (
        "Solar panels convert sunlight into electricity. The weather was mild on Tuesday. "
        "Modern solar panels reach high efficiency when the electricity they convert is stored in batteries. "
        "Lunch was served at noon. Battery storage lets solar electricity power homes at night."
    )
    out = logic.summary_of(text, sentence_count=2, keyword_count=5)
    assert len(out["summary"]) == 2 and all(s in text for s in out["summary"])
    assert text.index(out["summary"][0]) < text.index(out["summary"][1])
    assert "Lunch was served at noon." not in out["summary"]
    assert len(out["keywords"]) == 5 and any("solar" in k["keyword"].lower() for k in out["keywords"])
    scores = [k["score"] for k in out["keywords"]]
    assert scores == sorted(scores)


def test_a_text_without_sentence_breaks_gives_a_bounded_analysis(logic) -> None:
    """300 KB with no full stop is one sentence: the summary must still fit the workflow's 256 KiB state."""
    words = [f"token{i % 997}" for i in range(40_000)]
    text = " ".join(words)
    assert len(text) > 300_000
    out = logic.summary_of(text)
    assert out["summary"] and all(len(s) <= logic.MAX_SUMMARY_SENTENCE_CHARS for s in out["summary"])
    assert out["summary"][0].endswith("…")
    assert all(len(k["keyword"]) <= logic.MAX_KEYWORD_CHARS for k in out["keywords"])
    assert len(json.dumps([logic.sentiment_of(text), out])) < 16_000


def _analysed(logic, stores) -> dict[str, Any]:
    event = put(stores.s3, "documents/a.txt", " ".join(POSITIVE).encode())
    event = logic.extract(event, stores.s3, OUTPUT_BUCKET, logic.Limits())
    text = logic.read_text(event, stores.s3)
    return {**event, "analysis": [logic.sentiment_of(text), logic.summary_of(text)]}


def test_store_writes_the_result_object_and_item(logic, stores) -> None:
    event = _analysed(logic, stores)
    out = logic.store(
        event,
        stores.s3,
        stores.dynamodb,
        output_bucket=OUTPUT_BUCKET,
        results_table=RESULTS,
        execution="exec-1",
        clock=lambda: "2026-01-01T00:00:00.000Z",
    )
    doc_id = event["document"]["document_id"]
    assert "body" in event["text"] and out["text"] == {k: v for k, v in event["text"].items() if k != "body"}
    assert (
        "analysis" not in out
        and out["result"]["document_id"] == doc_id
        and out["result"]["sentiment"] == "positive"
    )
    body = json.loads(
        stores.s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"documents/results/{doc_id}.json")["Body"].read()
    )
    assert body["object_key"] == "documents/a.txt" and body["execution"] == "exec-1" and body["summary"]
    item = stores.dynamodb.get_item(TableName=RESULTS, Key={"document_id": {"S": doc_id}})["Item"]
    assert (
        item["sentiment"]["M"]["label"]["S"] == "positive"
        and item["result_key"]["S"] == f"documents/results/{doc_id}.json"
    )
    assert float(item["sentiment"]["M"]["compound"]["N"]) == body["sentiment"]["compound"]
    with pytest.raises(logic.InvalidEvent):
        logic.store(
            {**event, "analysis": [{}]},
            stores.s3,
            stores.dynamodb,
            output_bucket=OUTPUT_BUCKET,
            results_table=RESULTS,
        )


def test_record_failure_keeps_the_cause_and_is_written_once(logic, stores) -> None:
    rejected = {
        "code": "corrupt_pdf",
        "reason": "the PDF cannot be read: startxref not found",
        "stage": "extract",
    }
    cause = json.dumps(
        {"errorMessage": json.dumps(rejected), "errorType": "DocumentRejected", "stackTrace": []}
    )
    event = {
        "document": {"bucket": LANDING_BUCKET, "key": "documents/a.pdf", "etag": "e1"},
        "error": {"Error": "DocumentRejected", "Cause": cause},
    }
    out = logic.record_failure(
        event, stores.dynamodb, failures_table=FAILURES_TABLE, execution="exec-1", clock=lambda: "first"
    )
    assert out["failure"] == {
        "pipeline": "documents",
        "item_id": f"{LANDING_BUCKET}/documents/a.pdf#e1",
        "object_key": "documents/a.pdf",
        "execution": "exec-1",
        **{"error_code": "corrupt_pdf", "reason": rejected["reason"], "stage": "extract"},
    }
    logic.record_failure(event, stores.dynamodb, failures_table=FAILURES_TABLE, clock=lambda: "second")
    item = stores.dynamodb.get_item(
        TableName=FAILURES_TABLE,
        Key={"pipeline": {"S": "documents"}, "item_id": {"S": out["failure"]["item_id"]}},
    )["Item"]
    assert item["first_seen_at"]["S"] == "first" and item["error_code"]["S"] == "corrupt_pdf"


def test_describe_error_keeps_step_functions_names_for_other_errors(logic) -> None:
    assert logic.describe_error({"Error": "States.Timeout", "Cause": "The task timed out."}) == {
        "error_code": "States.Timeout",
        "reason": "The task timed out.",
        "stage": "workflow",
    }
    injected = logic.describe_error(
        {
            "Error": "InjectedFault",
            "Cause": json.dumps({"errorMessage": "injected fault", "errorType": "InjectedFault"}),
        }
    )
    assert injected["error_code"] == "InjectedFault" and injected["reason"] == "injected fault"
    assert logic.describe_error(None)["error_code"] == "Unknown"


def test_handlers_turn_permanent_errors_into_document_rejected(handler, stores, lambda_context) -> None:
    event = put(stores.s3, "documents/a.docx", b"PK")
    with pytest.raises(handler.DocumentRejected) as raised:
        handler.extract(event, lambda_context)
    assert json.loads(str(raised.value)) == {
        "code": "unsupported_type",
        "reason": raised.value.__cause__.reason,
        "stage": "validate",
    }
    # Transient errors keep their own name (the state machine retries them).
    with pytest.raises(ClientError):
        handler.extract(
            {"document": {"bucket": "no-such-bucket", "key": "documents/a.txt", "etag": "e", "kind": "text"}},
            lambda_context,
        )


def test_handlers_run_the_happy_path(handler, stores, lambda_context) -> None:
    state = handler.extract(put(stores.s3, "documents/a.txt", " ".join(NEGATIVE).encode()), lambda_context)
    analysis = [handler.sentiment(state, lambda_context), handler.summarize(state, lambda_context)]
    out = handler.store({**state, "analysis": analysis}, lambda_context)
    assert out["result"]["sentiment"] == "negative" and out["execution"] == {"name": "exec-1"}
    failed = handler.record_failure(
        {**state, "error": {"Error": "States.Timeout", "Cause": "timed out"}}, lambda_context
    )
    assert failed["failure"]["error_code"] == "States.Timeout"


WORKFLOW = "sluice-test-documents"


@pytest.fixture
def workflow(aws) -> Any:
    import boto3

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(
        name=WORKFLOW,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sluice-test-documents-sfn",
    )["stateMachineArn"]
    return sfn, arn


def test_start_workflow_names_the_execution_and_a_duplicate_starts_nothing(logic, workflow) -> None:
    sfn, arn = workflow
    event = {"document": {"bucket": LANDING_BUCKET, "key": "documents/a+b.pdf", "etag": "abc", "size": 3}}
    first = logic.start_workflow(event, sfn, arn)
    name = logic.document_id("documents/a+b.pdf", "abc")
    assert first["started"] is True and first["execution_name"] == name
    started = sfn.describe_execution(executionArn=first["execution_arn"])
    assert started["name"] == name and json.loads(started["input"]) == {"document": event["document"]}
    # The same event again, and the same document with another event time: nothing new, and no error. (The same
    # name and input while the first still runs is AWS's idempotent StartExecution: the same execution back.)
    second = logic.start_workflow(event, sfn, arn)
    assert second["execution_name"] == name and second.get("execution_arn", first["execution_arn"]) == first["execution_arn"]
    again = {"document": {**event["document"], "event_time": "2026-12-03T00:00:00Z"}}
    assert logic.start_workflow(again, sfn, arn)["started"] is False
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1
    # Another version of the object (another ETag) is another execution.
    assert logic.start_workflow({"document": {**event["document"], "etag": "def"}}, sfn, arn)["started"]
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 2


def test_start_workflow_raises_other_errors_for_lambda_to_retry(logic, workflow) -> None:
    sfn, arn = workflow
    event = {"document": {"bucket": LANDING_BUCKET, "key": "documents/a.pdf", "etag": "abc"}}
    with pytest.raises(ClientError):
        logic.start_workflow(event, sfn, arn.replace(WORKFLOW, "no-such-machine"))
    with pytest.raises(logic.PermanentError):
        logic.start_workflow({"document": {"key": "documents/a.pdf"}}, sfn, arn)


def test_start_handler(unit_env, monkeypatch, workflow, lambda_context) -> None:
    sfn, arn = workflow
    monkeypatch.setenv("DOCUMENTS_STATE_MACHINE_ARN", arn)
    handler = importlib.import_module("document_steps.handler")
    handler.start_settings.cache_clear()
    event = {"document": {"bucket": LANDING_BUCKET, "key": "documents/a.txt", "etag": "abc", "size": 1}}
    assert handler.start(event, lambda_context)["started"] is True
    later = {"document": {**event["document"], "event_time": "2026-12-03T00:00:00Z"}}
    assert handler.start(later, lambda_context)["started"] is False
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1


def test_describe_error_unwraps_a_failed_nested_execution(logic) -> None:
    # states:startExecution.sync:2: the child's DescribeExecution output is the Cause of States.TaskFailed.
    rejected = json.dumps({"code": "no_text", "reason": "no extractable text", "stage": "sentiment"})
    child = {
        "ExecutionArn": "arn:aws:states:us-east-1:123456789012:express:sluice-test-documents-analysis:x:y",
        "Status": "FAILED",
        "Error": "DocumentRejected",
        "Cause": json.dumps({"errorMessage": rejected, "errorType": "DocumentRejected"}),
    }
    assert logic.describe_error({"Error": "States.TaskFailed", "Cause": json.dumps(child)}) == {
        "error_code": "no_text",
        "reason": "no extractable text",
        "stage": "sentiment",
    }
    injected = {**child, "Error": "InjectedFault", "Cause": json.dumps({"errorMessage": "injected fault"})}
    assert logic.describe_error({"Error": "States.TaskFailed", "Cause": json.dumps(injected)}) == {
        "error_code": "InjectedFault",
        "reason": "injected fault",
        "stage": "workflow",
    }
    # A States.TaskFailed that is not a nested execution keeps its name.
    assert logic.describe_error({"Error": "States.TaskFailed", "Cause": "boom"})["error_code"] == "States.TaskFailed"


MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:sluice-test-documents"


def status_change(status: str, document: dict | None, name: str = "exec-1", **detail: Any) -> dict[str, Any]:
    """Step Functions' "Execution Status Change" event (EventBridge) for an execution of the document workflow."""
    return {
        "version": "0",
        "id": "6a1b0c5e-0000-0000-0000-000000000000",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-12-03T00:15:00Z",
        "region": "us-east-1",
        "resources": [f"{MACHINE.replace(':stateMachine:', ':execution:')}:{name}"],
        "detail": {
            "executionArn": f"{MACHINE.replace(':stateMachine:', ':execution:')}:{name}",
            "stateMachineArn": MACHINE,
            "name": name,
            "status": status,
            "startDate": 1764720000000,
            "stopDate": 1764720900000,
            "input": json.dumps({"document": document}) if document is not None else None,
            "output": None,
            "error": None,
            "cause": None,
            **detail,
        },
    }


def failure_item(stores, item_id: str) -> dict[str, Any] | None:
    return stores.dynamodb.get_item(
        TableName=FAILURES_TABLE, Key={"pipeline": {"S": "documents"}, "item_id": {"S": item_id}}
    ).get("Item")


@pytest.mark.parametrize(
    ("status", "code"), [("TIMED_OUT", "execution_timed_out"), ("ABORTED", "execution_aborted"), ("FAILED", "execution_failed")]
)
def test_an_execution_that_ended_without_succeeding_is_recorded_once(logic, stores, status, code) -> None:
    # The starter's input: the event's URL-encoded key; the item is keyed by the real key, as RecordFailure keys it.
    doc = {"bucket": LANDING_BUCKET, "key": "documents/a+b.pdf", "etag": '"e1"', "size": 3}
    event = status_change(status, doc, error="States.Runtime" if status == "FAILED" else None)
    out = logic.record_execution_end(event, stores.dynamodb, failures_table=FAILURES_TABLE, clock=lambda: "first")
    item_id = f"{LANDING_BUCKET}/documents/a b.pdf#e1"
    assert out == {"recorded": True, "item_id": item_id, "status": status, "error_code": code}
    item = failure_item(stores, item_id)
    assert item["error_code"]["S"] == code and item["stage"]["S"] == "workflow"
    assert item["execution_arn"]["S"] == event["detail"]["executionArn"] and item["message_id"]["S"] == "exec-1"
    assert item["execution_status"]["S"] == status and item["source"]["S"] == f"s3://{LANDING_BUCKET}/documents/a b.pdf"
    if status == "FAILED":
        assert "States.Runtime" in item["reason"]["S"]
    # EventBridge and Lambda's asynchronous invocation deliver at least once: the same event again writes nothing.
    again = logic.record_execution_end(event, stores.dynamodb, failures_table=FAILURES_TABLE, clock=lambda: "second")
    assert again["recorded"] is False and failure_item(stores, item_id)["first_seen_at"]["S"] == "first"


def test_a_failure_the_catch_path_recorded_is_not_recorded_again(logic, stores) -> None:
    doc = {"bucket": LANDING_BUCKET, "key": "documents/a.pdf", "etag": "e1"}
    rejected = json.dumps({"code": "corrupt_pdf", "reason": "startxref not found", "stage": "extract"})
    caught = logic.record_failure(
        {"document": doc, "error": {"Error": "DocumentRejected", "Cause": rejected}},
        stores.dynamodb,
        failures_table=FAILURES_TABLE,
        execution="exec-1",
    )
    ended = logic.record_execution_end(
        status_change("FAILED", doc, error="corrupt_pdf", cause="startxref not found"),
        stores.dynamodb,
        failures_table=FAILURES_TABLE,
    )
    assert ended["recorded"] is False and ended["item_id"] == caught["failure"]["item_id"]
    item = failure_item(stores, ended["item_id"])
    assert item["error_code"]["S"] == "corrupt_pdf" and "execution_arn" not in item
    rows = stores.dynamodb.query(
        TableName=FAILURES_TABLE,
        KeyConditionExpression="pipeline = :p",
        ExpressionAttributeValues={":p": {"S": "documents"}},
    )["Items"]
    assert len(rows) == 1


def test_other_statuses_and_inputs_without_a_document(logic, stores) -> None:
    doc = {"bucket": LANDING_BUCKET, "key": "documents/a.pdf", "etag": "e1"}
    for status in ("RUNNING", "SUCCEEDED"):
        out = logic.record_execution_end(status_change(status, doc), stores.dynamodb, failures_table=FAILURES_TABLE)
        assert out["recorded"] is False and out["item_id"] is None
    assert failure_item(stores, f"{LANDING_BUCKET}/documents/a.pdf#e1") is None
    # An execution started by hand with another input (or an input left out of the event): keyed by the execution.
    event = status_change("ABORTED", None, name="by-hand")
    out = logic.record_execution_end(event, stores.dynamodb, failures_table=FAILURES_TABLE)
    assert out["recorded"] is True and out["item_id"] == event["detail"]["executionArn"]
    assert failure_item(stores, out["item_id"])["error_code"]["S"] == "execution_aborted"


def test_execution_ended_handler(handler, stores, lambda_context) -> None:
    doc = {"bucket": LANDING_BUCKET, "key": "documents/a.txt", "etag": "e2"}
    out = handler.execution_ended(status_change("TIMED_OUT", doc), lambda_context)
    assert out["recorded"] is True and out["error_code"] == "execution_timed_out"
    assert handler.execution_ended(status_change("TIMED_OUT", doc), lambda_context)["recorded"] is False
