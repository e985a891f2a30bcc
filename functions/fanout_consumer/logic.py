"""Pipeline 2's S3 fan-out: one uploaded object, three independent consumers, one completion.

Pure logic: clients and names come in through ``Ports``. The consumers:

* ``metadata``: what the object is: sniffed format (magic bytes), content type, size, lines and columns of
  text/CSV, top-level keys of JSON, dimensions of PNG/GIF/JPEG images;
* ``checksum``: SHA-256 of the content, whether MD5 equals a single-part ETag, and a content scan (the EICAR
  test signature, NUL bytes in text): verdict ``clean`` or ``flagged``;
* ``preview``: a small JSON preview written once to the output bucket under ``previews/`` (S3
  ``If-None-Match``), with a text excerpt or the image's dimensions.

Each consumer's result is recorded on the upload's job (``record_result``: one conditional-free, idempotent
UpdateItem: SET its result, ADD its name to ``done``); when ``done`` holds every expected consumer, the job is
complete and ``completion_detail`` builds the "Upload Processed" event (contract ``upload_processed``).

Input problems raise ``sluice.errors.PermanentError`` subclasses; anything else is transient.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from sluice.errors import ObjectNotFound, ObjectTooLarge, OutputConflict
from sluice.events import S3ObjectRef

SOURCE = "sluice.fanout"
COMPLETED = "Upload Processed"
CONTRACT = "upload_processed"
UPLOADS_PREFIX = "uploads/"
PREVIEWS_PREFIX = "previews/"
DEFAULT_MAX_OBJECT_BYTES = 10 * 1024 * 1024
EICAR = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
EXCERPT_LINES = 10
EXCERPT_CHARS = 1000
META_SOURCE_ETAG = "source-etag"

STATUS_DONE = "done"
STATUS_SUPERSEDED = "superseded"  # the object was overwritten after its event: the newer version has its own job

TEXT_FORMATS = ("json", "csv", "text")
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")

_NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "404"}
_PRECONDITION_FAILED = {"PreconditionFailed", "412"}


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Ports:
    s3: Any
    dynamodb: Any
    jobs_table: str
    output_bucket: str | None = None
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    clock: Callable[[], str] = utc_now_iso


def job_id(ref: S3ObjectRef) -> str:
    return ref.item_id  # <bucket>/<key>#<etag>: one job per object version


# ------------------------------------------------------------------------------------------------ reading


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def read_object(s3: Any, ref: S3ObjectRef, max_bytes: int) -> bytes | None:
    """The version the event names (VersionId, else If-Match on its ETag); None if overwritten since."""
    if ref.size is not None and ref.size > max_bytes:
        raise ObjectTooLarge(f"object is {ref.size} bytes; the limit is {max_bytes}")
    params: dict[str, Any] = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        params["VersionId"] = ref.version_id
    else:
        params["IfMatch"] = f'"{ref.etag}"'
    try:
        response = s3.get_object(**params)
    except ClientError as exc:
        if _code(exc) in _NOT_FOUND:
            raise ObjectNotFound(f"{ref.uri} (version {ref.version_id or ref.etag}) does not exist: {_code(exc)}") from None
        if _code(exc) in _PRECONDITION_FAILED:
            return None
        raise
    body = response["Body"]
    try:
        data = body.read(max_bytes + 1)
    finally:
        body.close()
    if len(data) > max_bytes:
        raise ObjectTooLarge(f"object is larger than the limit of {max_bytes} bytes")
    return data


# ------------------------------------------------------------------------------------------------ content


def sniff(data: bytes) -> str:
    """The format from the first bytes (magic numbers), then from the text itself."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(b"\x1f\x8b"):
        return "gzip"
    text = _as_text(data)
    if text is None:
        return "binary"
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            json.loads(text)
            return "json"
        except ValueError:
            pass
    first = stripped.split("\n", 1)[0]
    if "," in first and len(stripped.split("\n")) > 1:
        return "csv"
    return "text"


def _as_text(data: bytes) -> str | None:
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def image_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """Width and height from the image header (PNG IHDR, GIF screen descriptor, JPEG SOFn); None if unreadable."""
    try:
        if fmt == "png" and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if fmt == "gif":
            return struct.unpack("<HH", data[6:10])
        if fmt == "jpeg":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                    i += 2
                    continue
                length = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                    return width, height
                i += 2 + length
    except struct.error:
        return None
    return None


def extract_metadata(data: bytes, ref: S3ObjectRef) -> dict[str, Any]:
    fmt = sniff(data)
    result: dict[str, Any] = {"format": fmt, "size": len(data)}
    text = _as_text(data) if fmt in TEXT_FORMATS else None
    if text is not None:
        lines = text.splitlines()
        result["lines"] = len(lines)
        if fmt == "csv" and lines:
            result["columns"] = [c.strip() for c in lines[0].split(",")]
        if fmt == "json":
            document = json.loads(text)
            result["json_type"] = type(document).__name__
            if isinstance(document, dict):
                result["keys"] = sorted(document)[:50]
    if fmt in IMAGE_FORMATS:
        size = image_size(data, fmt)
        if size:
            result["width"], result["height"] = size
    return result


def checksum_scan(data: bytes, ref: S3ObjectRef) -> dict[str, Any]:
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    flags = []
    if EICAR in data:
        flags.append("eicar_signature")
    if sniff(data) in TEXT_FORMATS and b"\x00" in data:
        flags.append("nul_bytes_in_text")
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        # A multipart ETag ("...-N") is not an MD5 of the content: nothing to verify.
        "etag_verified": None if "-" in ref.etag else md5 == ref.etag,
        "flags": flags,
        "verdict": "flagged" if flags else "clean",
    }


def preview_key(ref: S3ObjectRef) -> str:
    return PREVIEWS_PREFIX + ref.key.removeprefix(UPLOADS_PREFIX) + ".json"


def build_preview(data: bytes, ref: S3ObjectRef, created_at: str) -> dict[str, Any]:
    fmt = sniff(data)
    preview: dict[str, Any] = {"source": ref.uri, "etag": ref.etag, "format": fmt, "bytes": len(data), "created_at": created_at}
    text = _as_text(data) if fmt in TEXT_FORMATS else None
    if text is not None:
        preview["excerpt"] = "\n".join(text.splitlines()[:EXCERPT_LINES])[:EXCERPT_CHARS]
    elif fmt in IMAGE_FORMATS and (size := image_size(data, fmt)):
        preview["width"], preview["height"] = size
    return preview


def write_preview(s3: Any, bucket: str, key: str, preview: Mapping[str, Any], source_etag: str) -> bool:
    """Create the preview once (If-None-Match). False if it is there already from the same source version."""
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(preview, separators=(",", ":")).encode(),
            ContentType="application/json",
            Metadata={META_SOURCE_ETAG: source_etag},
            IfNoneMatch="*",
        )
        return True
    except ClientError as exc:
        if _code(exc) not in _PRECONDITION_FAILED:
            raise
    existing = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get(META_SOURCE_ETAG)
    if existing != source_etag:
        raise OutputConflict(f"s3://{bucket}/{key} exists from ETag {existing!r}, not {source_etag!r}")
    return False


# ------------------------------------------------------------------------------------------------ consumers


def metadata(ref: S3ObjectRef, ports: Ports) -> dict[str, Any]:
    data = read_object(ports.s3, ref, ports.max_object_bytes)
    if data is None:
        return {"status": STATUS_SUPERSEDED}
    return {"status": STATUS_DONE, **extract_metadata(data, ref)}


def checksum(ref: S3ObjectRef, ports: Ports) -> dict[str, Any]:
    data = read_object(ports.s3, ref, ports.max_object_bytes)
    if data is None:
        return {"status": STATUS_SUPERSEDED}
    return {"status": STATUS_DONE, **checksum_scan(data, ref)}


def preview(ref: S3ObjectRef, ports: Ports) -> dict[str, Any]:
    if not ports.output_bucket:
        raise RuntimeError("the preview consumer needs an output bucket (OUTPUT_BUCKET)")
    data = read_object(ports.s3, ref, ports.max_object_bytes)
    if data is None:
        return {"status": STATUS_SUPERSEDED}
    document = build_preview(data, ref, ports.clock())
    key = preview_key(ref)
    written = write_preview(ports.s3, ports.output_bucket, key, document, ref.etag)
    summary = {k: document[k] for k in ("format", "width", "height") if k in document}
    if "excerpt" in document:
        summary["excerpt_chars"] = len(document["excerpt"])
    return {"status": STATUS_DONE, "preview_bucket": ports.output_bucket, "preview_key": key, "written": written, **summary}


CONSUMERS: dict[str, Callable[[S3ObjectRef, Ports], dict[str, Any]]] = {
    "metadata": metadata,
    "checksum": checksum,
    "preview": preview,
}


# ------------------------------------------------------------------------------------------------ the job


def record_result(dynamodb: Any, table: str, ref: S3ObjectRef, consumer: str, result: Mapping[str, Any], now: str) -> dict[str, Any]:
    """Store ``consumer``'s result on the job and mark it done; returns the job item as it is now.

    Idempotent: a redelivered message sets the same result again and adds a name already in the set."""
    names = {"#r": f"result_{consumer}", "#b": "bucket_name", "#k": "object_key", "#e": "etag", "#s": "object_size",
             "#f": "first_seen_at", "#u": "updated_at", "#d": "done"}
    values: dict[str, Any] = {
        ":r": {"S": json.dumps(result, sort_keys=True)},
        ":b": {"S": ref.bucket},
        ":k": {"S": ref.key},
        ":e": {"S": ref.etag},
        ":now": {"S": now},
        ":c": {"SS": [consumer]},
    }
    update = "SET #r = :r, #b = :b, #k = :k, #e = :e, #f = if_not_exists(#f, :now), #u = :now"
    if ref.size is not None:
        update += ", #s = :s"
        values[":s"] = {"N": str(ref.size)}
    if ref.version_id:
        names["#v"] = "version_id"
        update += ", #v = :v"
        values[":v"] = {"S": ref.version_id}
    response = dynamodb.update_item(
        TableName=table,
        Key={"job_id": {"S": job_id(ref)}},
        UpdateExpression=update + " ADD #d :c",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
    )
    return response["Attributes"]


def is_complete(item: Mapping[str, Any], expected: tuple[str, ...]) -> bool:
    return set(expected) <= set(item.get("done", {}).get("SS", []))


def completion_detail(item: Mapping[str, Any], expected: tuple[str, ...], completed_at: str) -> dict[str, Any]:
    """The "Upload Processed" detail (contract upload_processed) from a complete job item."""
    detail: dict[str, Any] = {
        "job_id": item["job_id"]["S"],
        "bucket": item["bucket_name"]["S"],
        "key": item["object_key"]["S"],
        "etag": item["etag"]["S"],
        "consumers": {name: json.loads(item[f"result_{name}"]["S"]) for name in expected},
        "completed_at": completed_at,
    }
    if "object_size" in item:
        detail["size"] = int(item["object_size"]["N"])
    if "version_id" in item:
        detail["version_id"] = item["version_id"]["S"]
    return detail
