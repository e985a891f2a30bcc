"""Models in the model bucket, the "current version" pointer, and the per-process model cache.

Layout (one bucket, versioned; ``name`` is e.g. ``digits``)::

    models/<name>/<version>/model.onnx     the ONNX graph (input "input": float32 [N, 64])
    models/<name>/<version>/card.json      the model card: version, sha256, held-out accuracy, input shape, ...
    models/<name>/current.json             the pointer: {"name", "version", "sha256", "model_key", "card_key",
                                           "promoted_at"}; written last, so it only ever names a complete model

Publishing a version uploads its model and card; promoting it rewrites the pointer (``publish``). Nothing else
changes: no redeploy.

``ModelCache`` is what a function keeps per execution environment:

* the first ``get()`` reads the pointer, downloads the model into ``<cache_dir>/<name>/<version>/model.onnx``
  (checked against the pointer's sha256; a file already there with the right hash is reused) and creates the
  ONNX Runtime session;
* later calls return the session from memory. The pointer is read again at most every ``pointer_ttl`` seconds,
  so the warm path makes no S3 call at all between checks, and a promotion is seen by every warm environment
  within ``pointer_ttl`` seconds (new environments see it at once);
* when the pointer names another version, that version is loaded and swapped in; if it cannot be loaded (or the
  pointer cannot be read) the environment keeps serving the model it has and tries again after ``pointer_ttl``.
  Only an environment with no model at all fails (``ModelUnavailable``: transient, retried).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "LoadedModel",
    "ModelCache",
    "ModelUnavailable",
    "Pointer",
    "card_key",
    "model_key",
    "pointer_key",
    "publish",
    "read_pointer",
]

log = logging.getLogger(__name__)

PREFIX = "models"


def model_key(name: str, version: str) -> str:
    return f"{PREFIX}/{name}/{version}/model.onnx"


def card_key(name: str, version: str) -> str:
    return f"{PREFIX}/{name}/{version}/card.json"


def pointer_key(name: str) -> str:
    return f"{PREFIX}/{name}/current.json"


class ModelUnavailable(RuntimeError):
    """No model can be served (no pointer yet, the model is missing or corrupt): transient, retry later."""


@dataclass(frozen=True)
class Pointer:
    name: str
    version: str
    sha256: str
    model_key: str
    card_key: str
    promoted_at: str

    @classmethod
    def from_json(cls, raw: bytes | str) -> Pointer:
        try:
            data = json.loads(raw)
            return cls(**{field: str(data[field]) for field in cls.__dataclass_fields__})
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelUnavailable(f"the model pointer is malformed: {exc}") from None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def read_pointer(s3: Any, bucket: str, name: str) -> Pointer:
    try:
        body = s3.get_object(Bucket=bucket, Key=pointer_key(name))["Body"].read()
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404"):
            raise ModelUnavailable(f"no model has been published: s3://{bucket}/{pointer_key(name)} does not exist") from None
        raise
    return Pointer.from_json(body)


def publish(
    s3: Any, bucket: str, name: str, version: str, model: bytes, card: dict[str, Any], *, promote: bool = True, now: str | None = None
) -> Pointer:
    """Upload a model version and its card; with ``promote``, point ``current.json`` at it (last)."""
    sha256 = hashlib.sha256(model).hexdigest()
    if card.get("sha256") not in (None, sha256):
        raise ValueError("the card's sha256 does not match the model bytes")
    s3.put_object(Bucket=bucket, Key=model_key(name, version), Body=model, ContentType="application/octet-stream")
    s3.put_object(
        Bucket=bucket,
        Key=card_key(name, version),
        Body=(json.dumps(card, indent=2, sort_keys=True) + "\n").encode(),
        ContentType="application/json",
    )
    pointer = Pointer(
        name=name,
        version=version,
        sha256=sha256,
        model_key=model_key(name, version),
        card_key=card_key(name, version),
        promoted_at=now or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    if promote:
        s3.put_object(Bucket=bucket, Key=pointer_key(name), Body=pointer.to_json().encode(), ContentType="application/json")
    return pointer


def _default_session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One thread: the model is small (a batch of 10 takes well under a millisecond), so thread start-up and
    # hand-off cost more than they save, and a Lambda below 1,769 MB has less than one vCPU anyway.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@dataclass
class LoadedModel:
    name: str
    version: str
    sha256: str
    session: Any
    input_name: str
    loaded_from: str  # "s3" or "cache"
    load_ms: float

    def predict(self, batch: Any) -> tuple[Any, Any]:
        """Labels [N] and class probabilities [N, classes] for a float32 batch [N, 64]."""
        labels, probabilities = self.session.run(None, {self.input_name: batch})
        return labels, probabilities


class ModelCache:
    def __init__(
        self,
        s3: Any,
        bucket: str,
        name: str,
        *,
        pointer_ttl: float = 60.0,
        cache_dir: str | Path | None = None,
        session_factory: Callable[[Path], Any] = _default_session,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.name = name
        self.pointer_ttl = pointer_ttl
        self.cache_dir = Path(cache_dir or Path(tempfile.gettempdir()) / "models")
        self._session_factory = session_factory
        self._clock = clock
        self._model: LoadedModel | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()
        self.pointer_reads = 0
        self.downloads = 0

    @property
    def model(self) -> LoadedModel | None:
        return self._model

    def get(self) -> LoadedModel:
        """The model to serve now (see the module docstring for when S3 is asked)."""
        model = self._model
        if model is not None and self._clock() < self._next_check:
            return model
        with self._lock:
            return self._refresh()

    def _refresh(self) -> LoadedModel:
        model = self._model
        now = self._clock()
        if model is not None and now < self._next_check:
            return model  # another thread refreshed while we waited
        try:
            self.pointer_reads += 1
            pointer = read_pointer(self.s3, self.bucket, self.name)
            if model is None or pointer.version != model.version:
                model = self._load(pointer)
                if self._model is not None:
                    log.info("model %s promoted: %s -> %s", self.name, self._model.version, model.version)
                self._model = model
        except Exception as exc:
            if self._model is None:
                raise exc if isinstance(exc, ModelUnavailable) else ModelUnavailable(f"cannot load model {self.name}: {exc}") from exc
            log.warning("keeping model %s %s: checking for a new version failed: %s", self.name, self._model.version, exc)
        self._next_check = self._clock() + self.pointer_ttl
        assert self._model is not None
        return self._model

    def _load(self, pointer: Pointer) -> LoadedModel:
        started = time.perf_counter()
        path = self.cache_dir / self.name / pointer.version / "model.onnx"
        source = "cache"
        data = path.read_bytes() if path.is_file() else b""
        if hashlib.sha256(data).hexdigest() != pointer.sha256:
            source = "s3"
            self.downloads += 1
            try:
                data = self.s3.get_object(Bucket=self.bucket, Key=pointer.model_key)["Body"].read()
            except Exception as exc:
                raise ModelUnavailable(f"cannot download s3://{self.bucket}/{pointer.model_key}: {exc}") from exc
            digest = hashlib.sha256(data).hexdigest()
            if digest != pointer.sha256:
                raise ModelUnavailable(
                    f"s3://{self.bucket}/{pointer.model_key} has sha256 {digest}, the pointer says {pointer.sha256}"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.partial")
            partial.write_bytes(data)
            os.replace(partial, path)  # atomic: a concurrent reader never sees half a model
        session = self._session_factory(path)
        return LoadedModel(
            name=self.name,
            version=pointer.version,
            sha256=pointer.sha256,
            session=session,
            input_name=session.get_inputs()[0].name,
            loaded_from=source,
            load_ms=(time.perf_counter() - started) * 1000.0,
        )
