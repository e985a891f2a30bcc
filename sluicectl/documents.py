"""Pipeline 4 (document workflow) from the outside: generate documents, upload them, follow their executions and
count where every one of them ended.

Used by `sluicectl documents`, the end-to-end tests and the benchmark, so all three count the same way. A
document's execution is named sha256("<key>#<ETag>"), so its ARN is known from the upload alone; outcomes are
read from the pipeline's own state (execution status, results table, failures table).

PDFs are made with fpdf2 (a maintained PDF writer); the encrypted one is re-written by pypdf with a password.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

PIPELINE = "documents"

POSITIVE = [
    "The launch was a wonderful success and customers are delighted with the new features.",
    "Our team delivered excellent results this quarter, and the board praised the great work.",
    "Reviewers loved the clear design; the support staff were friendly, helpful and fast.",
    "Revenue grew strongly, morale is high, and everyone is excited about the bright future.",
    "The conference was fantastic: inspiring talks, brilliant ideas and a truly happy crowd.",
    "Thanks to the superb partnership, the project finished early and the client is thrilled.",
    "The new garden is beautiful, the weather was perfect, and the picnic was a joy.",
    "Patients reported that the caring nurses made them feel safe, comfortable and well treated.",
]
NEGATIVE = [
    "The launch was a terrible failure and customers are furious about the broken features.",
    "Our team missed every target this quarter, and the board criticised the awful planning.",
    "Reviewers hated the confusing design; the support staff were rude, useless and slow.",
    "Revenue collapsed, morale is miserable, and everyone is worried about painful layoffs.",
    "The conference was a disaster: boring talks, bad ideas and an angry, disappointed crowd.",
    "Because of the horrible partnership, the project failed badly and the client is upset.",
    "The garden is ruined, the weather was dreadful, and the picnic was a sad mess.",
    "Patients complained that the careless staff left them feeling scared, ignored and hurt.",
]
NEUTRAL = [
    "The report covers the period from January to March.",
    "Meetings are held on the second floor of the main building.",
    "The document lists the steps in the order they were taken.",
]


@dataclass(frozen=True)
class Document:
    key: str
    body: bytes
    kind: str  # "pdf" | "text"
    expected: str  # "positive" | "negative" for good documents, else the expected error code

    @property
    def is_valid(self) -> bool:
        return self.expected in ("positive", "negative")


def pdf_bytes(paragraphs: Iterable[str], *, pages: int = 1, title: str = "Report") -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_compression(False)  # deterministic-looking, readable bytes; size is not a concern here
    texts = list(paragraphs)
    for page in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=14)
        pdf.cell(text=f"{title} - page {page + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for text in texts:
            pdf.multi_cell(w=0, text=text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def image_only_pdf() -> bytes:
    """A PDF with drawings and no text at all (what a scan without OCR looks like to a text extractor)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_fill_color(40, 90, 160)
    pdf.rect(x=20, y=20, w=120, h=80, style="F")
    pdf.ellipse(x=60, y=120, w=60, h=40, style="D")
    return bytes(pdf.output())


def encrypted_pdf(paragraphs: Iterable[str]) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(paragraphs))))
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def corrupt_pdf(paragraphs: Iterable[str]) -> bytes:
    """A PDF header followed by a damaged body: the cross-reference table and the page tree are gone."""
    good = pdf_bytes(paragraphs)
    return good[:9] + b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\n" + bytes(range(256)) * 4 + b"\n%%EOF"


def _paragraphs(rng: random.Random, sentiment: str, sentences: int = 4) -> list[str]:
    pool = POSITIVE if sentiment == "positive" else NEGATIVE
    chosen = rng.sample(pool, k=min(sentences, len(pool)))
    chosen.insert(rng.randrange(len(chosen) + 1), rng.choice(NEUTRAL))
    return [" ".join(chosen[i : i + 2]) for i in range(0, len(chosen), 2)]


def generate(
    count: int,
    prefix: str,
    *,
    seed: int = 7,
    max_bytes: int = 5 * 1024 * 1024,
    max_pages: int = 50,
    bad: bool = True,
) -> list[Document]:
    """`count` good documents (PDF and text, alternately positive and negative) and, with `bad`, one of each kind
    of bad input: corrupt, encrypted and image-only PDFs, a PDF over `max_pages`, text over `max_bytes`, text
    that is not UTF-8, an empty file."""
    rng = random.Random(seed)
    documents = []
    for i in range(count):
        sentiment = "positive" if i % 2 == 0 else "negative"
        paragraphs = _paragraphs(rng, sentiment)
        if i % 4 < 2:
            documents.append(
                Document(
                    f"{prefix}doc-{i:03d}-{sentiment}.pdf",
                    pdf_bytes(paragraphs, title=f"Document {i}"),
                    "pdf",
                    sentiment,
                )
            )
        else:
            documents.append(
                Document(
                    f"{prefix}doc-{i:03d}-{sentiment}.txt",
                    "\n\n".join(paragraphs).encode(),
                    "text",
                    sentiment,
                )
            )
    if bad:
        text = _paragraphs(rng, "positive")
        documents += [
            Document(f"{prefix}bad-corrupt.pdf", corrupt_pdf(text), "pdf", "corrupt_pdf"),
            Document(f"{prefix}bad-encrypted.pdf", encrypted_pdf(text), "pdf", "encrypted_pdf"),
            Document(f"{prefix}bad-image-only.pdf", image_only_pdf(), "pdf", "no_text"),
            Document(
                f"{prefix}bad-long.pdf", pdf_bytes(text[:1], pages=max_pages + 1), "pdf", "too_many_pages"
            ),
            Document(
                f"{prefix}bad-huge.txt",
                (" ".join(text) + "\n").encode() * (max_bytes // 200 + 1),
                "text",
                "object_too_large",
            ),
            Document(
                f"{prefix}bad-latin1.txt",
                "Caf\xe9 cr\xe8me, tr\xe8s bien.".encode("latin-1"),
                "text",
                "invalid_encoding",
            ),
            Document(f"{prefix}bad-empty.txt", b"", "text", "empty_object"),
        ]
    return documents


def document_id(key: str, etag: str) -> str:
    """The workflow's execution name for an uploaded object, as the start function computes it from the S3
    event, whose key is URL-encoded."""
    return hashlib.sha256(f"{quote_plus(key, safe='/')}#{etag.strip(chr(34))}".encode()).hexdigest()


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


@dataclass
class Tracked:
    document: Document
    etag: str
    uploaded_at: float
    name: str
    status: str = "PENDING"  # PENDING (not started yet), RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    finished_at: float | None = None


@dataclass
class Run:
    run_id: str
    prefix: str
    bucket: str = ""
    tracked: list[Tracked] = field(default_factory=list)

    @classmethod
    def new(cls, documents_prefix: str = "documents/", run_id: str | None = None) -> Run:
        run_id = run_id or uuid.uuid4().hex[:8]
        return cls(run_id, f"{documents_prefix}run-{run_id}/")


def upload(
    client: Callable[[str], Any], bucket: str, run: Run, documents: list[Document], *, workers: int = 8
) -> None:
    s3 = client("s3")
    run.bucket = bucket

    def put(doc: Document) -> Tracked:
        content_type = "application/pdf" if doc.kind == "pdf" else "text/plain"
        etag = s3.put_object(Bucket=bucket, Key=doc.key, Body=doc.body, ContentType=content_type)[
            "ETag"
        ].strip('"')
        return Tracked(doc, etag, time.monotonic(), document_id(doc.key, etag))

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        run.tracked.extend(pool.map(put, documents))


def poll(client: Callable[[str], Any], state_machine_arn: str, run: Run) -> int:
    """Refresh every unfinished document's execution; returns how many are still unfinished."""
    sfn = client("stepfunctions")
    unfinished = 0
    for item in run.tracked:
        if item.finished_at is not None:
            continue
        try:
            described = sfn.describe_execution(executionArn=execution_arn(state_machine_arn, item.name))
        except sfn.exceptions.ExecutionDoesNotExist:
            unfinished += 1
            continue
        item.status = described["status"]
        if item.status == "RUNNING":
            unfinished += 1
            continue
        item.finished_at = time.monotonic()
        item.output = json.loads(described["output"]) if described.get("output") else None
        item.error, item.cause = described.get("error"), described.get("cause")
    return unfinished


def wait(
    client: Callable[[str], Any],
    state_machine_arn: str,
    run: Run,
    *,
    timeout: float = 300,
    on_progress: Callable[[int], None] | None = None,
) -> bool:
    """Poll until every document's execution has finished (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        unfinished = poll(client, state_machine_arn, run)
        if on_progress:
            on_progress(len(run.tracked) - unfinished)
        if unfinished == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


@dataclass
class Outcome:
    key: str
    kind: str
    expected: str
    status: str
    sentiment: str | None = None
    compound: float | None = None
    keywords: list[str] = field(default_factory=list)
    error_code: str | None = None
    reason: str | None = None
    seconds: float | None = None

    @property
    def as_expected(self) -> bool:
        if self.expected in ("positive", "negative"):
            return self.status == "SUCCEEDED" and self.sentiment == self.expected
        return self.status == "FAILED" and self.error_code == self.expected


def outcomes(
    client: Callable[[str], Any], run: Run, results_table: str, failures_table: str
) -> list[Outcome]:
    """Each document's outcome from the pipeline's tables: a result item or a failure record (or neither)."""
    ddb = client("dynamodb")
    rows = []
    for item in run.tracked:
        doc = item.document
        row = Outcome(doc.key, doc.kind, doc.expected, item.status)
        if item.finished_at is not None:
            row.seconds = round(item.finished_at - item.uploaded_at, 2)
        result = ddb.get_item(
            TableName=results_table, Key={"document_id": {"S": item.name}}, ConsistentRead=True
        ).get("Item")
        if result:
            sentiment = result["sentiment"]["M"]
            row.sentiment = sentiment["label"]["S"]
            row.compound = float(sentiment["compound"]["N"])
            row.keywords = [k["M"]["keyword"]["S"] for k in result["keywords"]["L"][:4]]
        failure = ddb.get_item(
            TableName=failures_table,
            Key={"pipeline": {"S": PIPELINE}, "item_id": {"S": f"{run.bucket}/{doc.key}#{item.etag}"}},
            ConsistentRead=True,
        ).get("Item")
        if failure:
            row.error_code = failure["error_code"]["S"]
            row.reason = failure["reason"]["S"]
        rows.append(row)
    return rows


@dataclass
class Counts:
    uploaded: int = 0
    succeeded: int = 0
    failed: int = 0
    results: int = 0
    failure_records: int = 0
    sentiment_right: int = 0
    as_expected: int = 0

    @property
    def accounted(self) -> int:
        """Documents that ended with a result or a failure record."""
        return self.results + self.failure_records


def count(rows: list[Outcome]) -> Counts:
    counts = Counts(uploaded=len(rows))
    for row in rows:
        counts.succeeded += row.status == "SUCCEEDED"
        counts.failed += row.status == "FAILED"
        counts.results += row.sentiment is not None
        counts.failure_records += row.error_code is not None
        counts.sentiment_right += row.expected in ("positive", "negative") and row.sentiment == row.expected
        counts.as_expected += row.as_expected
    return counts
