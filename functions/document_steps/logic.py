"""Pipeline 4, the document workflow: the logic of each step, pure and testable (clients come in as arguments).

The state machine (terraform/stack/documents.asl.json.tftpl) calls one Lambda per step; each step receives the
execution state and returns it with its own part added:

    {"document": {...}}                    extract: the document checked (type, size, PDF header, unchanged
    + "text": {bucket, key, chars, pages,            ETag) and read in one GET -> + kind, size, document_id; the
               body when <= 32 KiB}                  text to S3 (states carry at most 256 KB), small text inline
    "analysis": [sentiment, summary]       the Parallel state's two branches (each returns only its part)
    + "result": {...}                      store    (results table + JSON in the output bucket)
    + "failure": {...}                     record_failure (Catch path: failures table)

Bad input raises a ``PermanentError`` (sluice.errors) with a stable code; the handler turns it into the
``DocumentRejected`` error, which the state machine never retries and catches into the failure path.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError
from sluice.errors import (
    EmptyObject,
    InvalidEncoding,
    InvalidEvent,
    ObjectNotFound,
    ObjectTooLarge,
    PermanentError,
)
from sluice.failures import utc_now_iso

PIPELINE = "documents"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_PAGES = 50
KINDS = {".pdf": "pdf", ".txt": "text", ".text": "text", ".md": "text"}
TEXT_PREFIX = "documents/text/"
# Text up to this size also travels in the state (Standard and Express states carry up to 256 KiB; the state holds
# the document, the text, its summary and the result at once), so sentiment and summary read no S3 object.
INLINE_TEXT_BYTES = 32 * 1024
RESULT_PREFIX = "documents/results/"
# VADER's own thresholds for its compound score.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05


class UnsupportedDocument(PermanentError):
    code = "unsupported_type"
    stage = "validate"


class DocumentChanged(PermanentError):
    """The object was overwritten after the event: the new version has its own event and execution."""

    code = "object_changed"
    stage = "validate"


class CorruptPdf(PermanentError):
    code = "corrupt_pdf"
    stage = "extract"


class EncryptedPdf(PermanentError):
    code = "encrypted_pdf"
    stage = "extract"


class TooManyPages(PermanentError):
    code = "too_many_pages"
    stage = "extract"


class NoText(PermanentError):
    code = "no_text"
    stage = "extract"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pages: int = DEFAULT_MAX_PAGES


def document_id(key: str, etag: str) -> str:
    """The document's identity, also the execution name: sha256 of "<key>#<etag>" in hex (64 characters, valid
    for an execution name), with the key as the S3 event carries it (URL-encoded). The starter function names the
    workflow's executions with it (``start_workflow``)."""
    return hashlib.sha256(f"{key}#{etag}".encode()).hexdigest()


def start_workflow(event: dict[str, Any], sfn: Any, state_machine_arn: str) -> dict[str, Any]:
    """The trigger: start the document workflow once per document version, named ``document_id(key, etag)``.

    A name already used (a repeated "Object Created" event, the same bytes uploaded again, EventBridge's
    at-least-once delivery) is ``ExecutionAlreadyExists``: the document is already in (or through) the workflow,
    so that is a success that starts nothing new. Any other error is raised: the asynchronous invocation is
    retried by Lambda, then goes to the function's dead-letter queue."""
    doc = _document(event)
    name = document_id(doc["key"], doc["etag"])
    try:
        started = sfn.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps({"document": doc})
        )
    except ClientError as exc:
        if _s3_error_code(exc) != "ExecutionAlreadyExists":
            raise
        return {"execution_name": name, "started": False}
    return {"execution_name": name, "started": True, "execution_arn": started["executionArn"]}


def _document(event: dict[str, Any]) -> dict[str, Any]:
    doc = event.get("document")
    if not isinstance(doc, dict) or not all(
        isinstance(doc.get(k), str) and doc.get(k) for k in ("bucket", "key", "etag")
    ):
        raise InvalidEvent(
            "the input needs document.bucket, document.key and document.etag", stage="validate"
        )
    return doc


def _s3_error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# --- extract: the document checked and read in one GET -----------------------------------------------------------
def _kind(key: str) -> str:
    suffix = key[key.rfind(".") :].lower() if "." in key.rsplit("/", 1)[-1] else ""
    kind = KINDS.get(suffix)
    if kind is None:
        raise UnsupportedDocument(f"{key}: only {', '.join(sorted(KINDS))} documents are processed")
    return kind


def read_document(event: dict[str, Any], s3: Any, limits: Limits) -> tuple[dict[str, Any], bytes]:
    """The checked document (real key, kind, size, document_id) and its bytes, from one conditional GET.

    Bad input is a permanent error at stage ``validate``: a type other than PDF or text, a missing object, an
    object overwritten since the event (the GET is ``IfMatch`` the event's ETag: the newer version has its own
    event and execution), over ``limits.max_bytes`` (refused from the response's length, the body unread), empty,
    or a "PDF" without a ``%PDF-`` header in its first 1 KB."""
    doc = _document(event)
    # S3 event keys are URL-encoded ("a b.pdf" -> "a+b.pdf"); the state carries the real key from here on.
    event_key, etag = doc["key"], doc["etag"].strip('"')
    bucket, key = doc["bucket"], unquote_plus(event_key)
    kind = _kind(key)
    try:
        got = s3.get_object(Bucket=bucket, Key=key, IfMatch=etag)
    except ClientError as exc:
        if _s3_error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            raise ObjectNotFound(f"s3://{bucket}/{key} does not exist", stage="validate") from exc
        if _s3_error_code(exc) in ("412", "PreconditionFailed"):
            raise DocumentChanged(f"s3://{bucket}/{key} changed since the event (ETag {etag})") from exc
        raise
    size = int(got["ContentLength"])
    if size > limits.max_bytes:
        got["Body"].close()
        raise ObjectTooLarge(f"{size} bytes, the limit is {limits.max_bytes}", stage="validate")
    if size == 0:
        raise EmptyObject("the document is empty", stage="validate")
    body = got["Body"].read(limits.max_bytes + 1)
    if len(body) > limits.max_bytes:  # longer than announced
        raise ObjectTooLarge(f"more than {limits.max_bytes} bytes", stage="validate")
    if kind == "pdf" and b"%PDF-" not in body[:1024]:
        raise CorruptPdf("not a PDF: no %PDF- header in the first 1 KB", stage="validate")
    checked = {**doc, "key": key, "etag": etag, "kind": kind, "size": size, "document_id": document_id(event_key, etag)}
    return checked, body


def pdf_text(data: bytes, max_pages: int) -> tuple[str, int]:
    """Text of a PDF and its page count. Corrupt, encrypted and oversized PDFs are permanent errors."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PdfStreamError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Encrypted with an empty user password (owner restrictions only): the text is readable.
            try:
                if not reader.decrypt(""):
                    raise EncryptedPdf("the PDF is encrypted with a password")
            except (FileNotDecryptedError, DependencyError, NotImplementedError) as exc:
                raise EncryptedPdf(f"the PDF is encrypted and cannot be opened: {exc}") from exc
        pages = len(reader.pages)
        if pages > max_pages:
            raise TooManyPages(f"{pages} pages, the limit is {max_pages}")
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except PermanentError:
        raise
    except (
        PdfReadError,
        PdfStreamError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        AssertionError,
    ) as exc:
        # pypdf reports a damaged file with its own errors and, deep in a broken object tree, with Python's.
        raise CorruptPdf(f"the PDF cannot be read: {type(exc).__name__}: {exc}"[:500]) from exc
    return text, pages


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidEncoding(f"the text is not UTF-8 (byte {exc.start})", stage="extract") from exc


def normalise(text: str) -> str:
    lines = (re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def extract(event: dict[str, Any], s3: Any, output_bucket: str, limits: Limits) -> dict[str, Any]:
    """The document's text, normalised, written to the output bucket; the state gains the checked ``document``
    and ``text`` (its location, and the text itself when it is at most ``INLINE_TEXT_BYTES``, so the analysis
    steps need not read it back)."""
    doc, body = read_document(event, s3, limits)
    pages: int | None = None
    if doc["kind"] == "pdf":
        raw, pages = pdf_text(body, limits.max_pages)
    else:
        raw = _decode_text(body)
    text = normalise(raw)
    if not any(ch.isalpha() for ch in text):
        raise NoText("no extractable text" + (" (a scanned or image-only PDF?)" if pages else ""))
    text_key = f"{TEXT_PREFIX}{doc['document_id']}.txt"
    encoded = text.encode()
    # Deterministic content for a given document: a retried or repeated step writes the same bytes.
    s3.put_object(Bucket=output_bucket, Key=text_key, Body=encoded, ContentType="text/plain; charset=utf-8")
    ref: dict[str, Any] = {"bucket": output_bucket, "key": text_key, "chars": len(text), "pages": pages}
    if len(encoded) <= INLINE_TEXT_BYTES:
        ref["body"] = text
    return {**event, "document": doc, "text": ref}


def read_text(event: dict[str, Any], s3: Any) -> str:
    ref = event.get("text") or {}
    if isinstance(ref.get("body"), str):
        return ref["body"]
    if not ref.get("bucket") or not ref.get("key"):
        raise InvalidEvent(
            "the input needs text.bucket and text.key (the extract step's output)", stage="analyse"
        )
    return s3.get_object(Bucket=ref["bucket"], Key=ref["key"])["Body"].read().decode()


# --- analyse ---------------------------------------------------------------------------------------------------
def sentences(text: str) -> list[str]:
    from segtok.segmenter import split_multi

    return [s.strip() for s in split_multi(text) if any(ch.isalpha() for ch in s)]


def sentiment_of(text: str) -> dict[str, Any]:
    """VADER scores the document sentence by sentence (it is tuned for short texts; one score of a long text
    saturates); the document's compound score is the mean of its sentences'."""
    analyzer = _analyzer()
    parts = sentences(text) or [text]
    scores = [analyzer.polarity_scores(s) for s in parts]
    mean = {k: round(sum(s[k] for s in scores) / len(scores), 4) for k in ("compound", "pos", "neg", "neu")}
    compound = mean["compound"]
    label = (
        "positive"
        if compound >= POSITIVE_THRESHOLD
        else "negative"
        if compound <= NEGATIVE_THRESHOLD
        else "neutral"
    )
    return {
        "label": label,
        "compound": compound,
        "positive": mean["pos"],
        "negative": mean["neg"],
        "neutral": mean["neu"],
        "sentences": len(parts),
    }


@functools.cache
def _analyzer() -> Any:
    """VADER's analyzer (loading its lexicon takes ~50 ms): once per warm container."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


# The analysis travels in the workflow's state (256 KiB at most; States.DataLimitExceeded cannot be caught, so the
# document would end without a failure record) and into a DynamoDB item (400 KB): a text without sentence breaks
# is one "sentence", so summary sentences and keywords are cut to these lengths.
MAX_SUMMARY_SENTENCE_CHARS = 600
MAX_KEYWORD_CHARS = 80


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summary_of(text: str, *, sentence_count: int = 3, keyword_count: int = 8) -> dict[str, Any]:
    """Keywords (YAKE: lower score = more relevant) and an extractive summary: the sentences that cover the most
    keyword weight, in document order, each cut to MAX_SUMMARY_SENTENCE_CHARS.

    The sentence ranking is the only hand-written part (a few lines): YAKE ranks phrases, not sentences, and the
    maintained summarisers were too heavy for the zip (see requirements.txt).
    """
    import yake

    extractor = yake.KeywordExtractor(lan="en", n=2, dedupLim=0.7, top=max(keyword_count, 20))
    ranked = [(k, float(score)) for k, score in extractor.extract_keywords(text)]
    keywords = [{"keyword": _clip(k, MAX_KEYWORD_CHARS), "score": round(score, 5)} for k, score in ranked[:keyword_count]]
    # Weight of a keyword: 1 / (1 + score), so the most relevant count most; a sentence scores the weights of
    # the distinct keywords it contains, normalised by its length so long sentences do not win by size alone.
    weights = {k.lower(): 1.0 / (1.0 + score) for k, score in ranked}
    parts = sentences(text)
    scored = []
    for index, sentence in enumerate(parts):
        lowered = sentence.lower()
        words = max(len(lowered.split()), 1)
        weight = sum(w for k, w in weights.items() if k in lowered)
        scored.append((weight / (words**0.5), index))
    chosen = sorted(index for _, index in sorted(scored, reverse=True)[:sentence_count])
    return {"summary": [_clip(parts[i], MAX_SUMMARY_SENTENCE_CHARS) for i in chosen], "keywords": keywords}


# --- store -----------------------------------------------------------------------------------------------------
def _ddb_value(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [_ddb_value(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _ddb_value(v) for k, v in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__}")


def build_result(event: dict[str, Any], execution: str | None, now: str) -> dict[str, Any]:
    doc = _document(event)
    analysis = event.get("analysis")
    if not isinstance(analysis, list) or len(analysis) != 2:
        raise InvalidEvent(
            "the input needs analysis = [sentiment, summary] (the Parallel state's output)", stage="store"
        )
    sentiment, summary = analysis
    return {
        "document_id": doc["document_id"],
        "bucket": doc["bucket"],
        "object_key": doc["key"],
        "etag": doc["etag"],
        "kind": doc["kind"],
        "size": doc["size"],
        "pages": (event.get("text") or {}).get("pages"),
        "chars": (event.get("text") or {}).get("chars"),
        "sentiment": sentiment,
        "summary": summary["summary"],
        "keywords": summary["keywords"],
        "execution": execution,
        "processed_at": now,
    }


def store(
    event: dict[str, Any],
    s3: Any,
    dynamodb: Any,
    *,
    output_bucket: str,
    results_table: str,
    execution: str | None = None,
    clock: Callable[[], str] = utc_now_iso,
) -> dict[str, Any]:
    """Writes the result twice, both keyed on the document: a JSON object (for people and downstream jobs) and a
    results-table item (for queries). Overwriting is safe: a repeated step writes the same document's result."""
    result = build_result(event, execution, clock())
    result_key = f"{RESULT_PREFIX}{result['document_id']}.json"
    s3.put_object(
        Bucket=output_bucket,
        Key=result_key,
        Body=json.dumps(result, indent=2).encode(),
        ContentType="application/json",
    )
    item = {k: _ddb_value(v) for k, v in {**result, "result_key": result_key}.items()}
    dynamodb.put_item(TableName=results_table, Item=item)
    summary = {
        "document_id": result["document_id"],
        "object_key": result["object_key"],
        "sentiment": result["sentiment"]["label"],
        "compound": result["sentiment"]["compound"],
        "keywords": [k["keyword"] for k in result["keywords"][:5]],
        "result": f"s3://{output_bucket}/{result_key}",
    }
    # The analysis is in the result object now, and the text in its own: the execution's output keeps neither.
    kept = {k: v for k, v in event.items() if k != "analysis"}
    if isinstance(kept.get("text"), dict):
        kept["text"] = {k: v for k, v in kept["text"].items() if k != "body"}
    return {**kept, "result": summary}


# --- failure path ----------------------------------------------------------------------------------------------
def describe_error(error: dict[str, Any] | None) -> dict[str, str]:
    """Code, reason and stage from a Catch's {"Error", "Cause"}. DocumentRejected carries our JSON; anything else
    (a transient error after its retries, a timeout) keeps Step Functions' error name and the message."""
    error = error or {}
    name = str(error.get("Error") or "Unknown")
    cause = error.get("Cause")
    message = cause if isinstance(cause, str) else json.dumps(cause)
    try:
        parsed = json.loads(message) if message else {}
        message = str(parsed.get("errorMessage", message)) if isinstance(parsed, dict) else message
    except ValueError:
        pass
    if name == "States.TaskFailed":
        # A failed nested execution (states:startExecution.sync:2): the cause is the child's DescribeExecution
        # output; its own error and cause are what went wrong.
        try:
            child = json.loads(message)
            if isinstance(child, dict) and child.get("Status") and child.get("Error"):
                return describe_error({"Error": child["Error"], "Cause": child.get("Cause")})
        except (ValueError, TypeError):
            pass
    if name == "DocumentRejected":
        try:
            detail = json.loads(message)
            return {
                "error_code": str(detail["code"]),
                "reason": str(detail["reason"]),
                "stage": str(detail.get("stage", "process")),
            }
        except (ValueError, KeyError, TypeError):
            pass
    return {"error_code": name, "reason": (message or name)[:1000], "stage": "workflow"}


def record_failure(
    event: dict[str, Any],
    dynamodb: Any,
    *,
    failures_table: str,
    execution: str | None = None,
    clock: Callable[[], str] = utc_now_iso,
) -> dict[str, Any]:
    """One failures-table item per document version (``<bucket>/<key>#<etag>``, as pipeline 1 keys objects),
    written once: a repeated failure of the same document keeps the first record."""
    doc = event.get("document") if isinstance(event.get("document"), dict) else {}
    bucket, key, etag = (
        str(doc.get("bucket", "?")),
        str(doc.get("key", "?")),
        str(doc.get("etag", "?")).strip('"'),
    )
    if "document_id" not in doc:  # failed before validate decoded the event's URL-encoded key
        key = unquote_plus(key)
    detail = describe_error(event.get("error"))
    item_id = f"{bucket}/{key}#{etag}"
    _put_failure(dynamodb, failures_table, item_id, detail, f"s3://{bucket}/{key}", execution, clock)
    failure = {"pipeline": PIPELINE, "item_id": item_id, "object_key": key, "execution": execution, **detail}
    return {**event, "failure": failure}


def _put_failure(
    dynamodb: Any,
    failures_table: str,
    item_id: str,
    detail: dict[str, Any],
    source: str,
    execution: str | None,
    clock: Callable[[], str],
    **extra: Any,
) -> bool:
    """Put the failure item unless one exists for ``item_id``; True when this call wrote it."""
    item = {
        "pipeline": PIPELINE,
        "item_id": item_id,
        **detail,
        "source": source,
        "message_id": execution or "",
        "first_seen_at": clock(),
        "attempts": 1,
        **extra,
    }
    try:
        dynamodb.put_item(
            TableName=failures_table,
            Item={k: _ddb_value(v) for k, v in item.items()},
            ConditionExpression="attribute_not_exists(item_id)",
        )
    except ClientError as exc:
        if _s3_error_code(exc) != "ConditionalCheckFailedException":
            raise
        return False
    return True


# --- executions that ended without succeeding --------------------------------------------------------------------
# Step Functions' "Execution Status Change" events (EventBridge, default bus) for the statuses the workflow's own
# Catch -> RecordFailure path cannot see: a TIMED_OUT execution (TimeoutSeconds), an ABORTED one (StopExecution),
# and a FAILED one whose failure path failed too (RecordFailure's retries used up, States.Runtime, ...).
ENDED_ERROR_CODES = {
    "TIMED_OUT": "execution_timed_out",
    "ABORTED": "execution_aborted",
    "FAILED": "execution_failed",
}


def record_execution_end(
    event: dict[str, Any],
    dynamodb: Any,
    *,
    failures_table: str,
    clock: Callable[[], str] = utc_now_iso,
) -> dict[str, Any]:
    """One failures-table item for a document execution that ended TIMED_OUT, ABORTED or FAILED, keyed like
    ``record_failure`` (``<bucket>/<key>#<etag>``, the document of the execution's input) and written only if
    no item exists: when the Catch path recorded the failure first (a FAILED execution that went through
    RecordFailure), or the event is delivered again, the item that is there stays as it is.

    Returns ``{"recorded": bool, "item_id", "status", "error_code"}``; ``recorded`` is False for a status that
    is not a failure (the rule should not send those) or an item that was already there."""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    status = str(detail.get("status") or "")
    execution_arn = str(detail.get("executionArn") or "")
    name = str(detail.get("name") or execution_arn.rsplit(":", 1)[-1])
    code = ENDED_ERROR_CODES.get(status)
    if code is None:
        return {"recorded": False, "item_id": None, "status": status, "error_code": None}
    error, cause = detail.get("error"), detail.get("cause")
    if status == "TIMED_OUT":
        reason = "the execution timed out (the workflow's TimeoutSeconds)"
    elif status == "ABORTED":
        reason = "the execution was stopped (StopExecution)"
    else:
        reason = "the execution failed outside its failure path"
    if error or cause:
        reason += f": {error or ''}{': ' if error and cause else ''}{cause or ''}"
    failure = {"error_code": code, "reason": reason[:1000], "stage": "workflow"}
    try:
        execution_input = json.loads(detail.get("input") or "null")
    except (TypeError, ValueError):
        execution_input = None
    doc = execution_input.get("document") if isinstance(execution_input, dict) else None
    if isinstance(doc, dict) and all(isinstance(doc.get(k), str) and doc.get(k) for k in ("bucket", "key", "etag")):
        bucket, etag = doc["bucket"], doc["etag"].strip('"')
        # The starter's input carries the event's URL-encoded key; validate's output (document_id set) the real one.
        key = doc["key"] if "document_id" in doc else unquote_plus(doc["key"])
        item_id, source = f"{bucket}/{key}#{etag}", f"s3://{bucket}/{key}"
    else:
        # An execution started by hand, or an input too large for the event (AWS leaves it out above 256 KB):
        # the execution is the item.
        item_id, source = execution_arn or name, execution_arn or name
    recorded = _put_failure(
        dynamodb,
        failures_table,
        item_id,
        failure,
        source,
        name,
        clock,
        execution_arn=execution_arn,
        execution_status=status,
    )
    return {"recorded": recorded, "item_id": item_id, "status": status, "error_code": code}
