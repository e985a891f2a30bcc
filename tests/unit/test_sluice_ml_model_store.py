"""sluice_ml.model_store: publish/promote, and a cache that keeps the warm path free of S3 calls."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import boto3
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "ml" / "python"))

from sluice_ml import model_store  # noqa: E402

from sluicectl import model as digits  # noqa: E402

BUCKET = "sluice-test-123456789012-models"


@pytest.fixture(scope="module")
def trained() -> digits.TrainedModel:
    return digits.train(("svc",))


@pytest.fixture
def s3(aws: None):
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingS3:
    def __init__(self, s3) -> None:
        self.s3 = s3
        self.calls: list[str] = []

    def get_object(self, **kwargs):
        self.calls.append(kwargs["Key"])
        return self.s3.get_object(**kwargs)


def test_publish_writes_model_card_and_pointer_last(s3, trained) -> None:
    pointer = digits.publish(s3, BUCKET, trained)
    assert pointer.version == trained.version and pointer.sha256 == trained.sha256
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key="models/digits/current.json")["Body"].read())
    assert stored["model_key"] == f"models/digits/{trained.version}/model.onnx"
    model = s3.get_object(Bucket=BUCKET, Key=stored["model_key"])["Body"].read()
    card = json.loads(s3.get_object(Bucket=BUCKET, Key=stored["card_key"])["Body"].read())
    assert hashlib.sha256(model).hexdigest() == card["sha256"] == stored["sha256"]
    assert card["held_out"]["accuracy"] >= 0.95 and card["input"]["shape"] == [None, 64]


def test_the_warm_path_makes_no_s3_call_until_the_pointer_ttl(s3, trained, tmp_path) -> None:
    digits.publish(s3, BUCKET, trained)
    counting, clock = CountingS3(s3), Clock()
    cache = model_store.ModelCache(
        counting, BUCKET, "digits", pointer_ttl=60, cache_dir=tmp_path, clock=clock
    )
    model = cache.get()
    assert model.version == trained.version and model.loaded_from == "s3"
    assert counting.calls == ["models/digits/current.json", f"models/digits/{trained.version}/model.onnx"]
    labels, probabilities = model.predict(np.zeros((3, 64), dtype=np.float32))
    assert labels.shape == (3,) and probabilities.shape == (3, 10)
    for _ in range(100):
        clock.now += 0.5
        assert cache.get() is model
    assert len(counting.calls) == 2  # 50 s of warm invocations: no S3 call
    clock.now += 11
    assert cache.get() is model
    assert counting.calls[2:] == [
        "models/digits/current.json"
    ]  # the TTL passed: one pointer read, same version


def test_a_promotion_is_picked_up_after_the_ttl_and_a_new_environment_reuses_tmp(
    s3, trained, tmp_path
) -> None:
    digits.publish(s3, BUCKET, trained)
    clock = Clock()
    cache = model_store.ModelCache(s3, BUCKET, "digits", pointer_ttl=5, cache_dir=tmp_path, clock=clock)
    first = cache.get()
    v2 = digits.TrainedModel(trained.name, "v2", trained.onnx, {**trained.card, "version": "v2"})
    digits.publish(s3, BUCKET, v2)
    assert cache.get() is first  # within the TTL: still the old version
    clock.now += 6
    assert cache.get().version == "v2"
    # Another environment on the same /tmp finds the file and downloads nothing.
    again = model_store.ModelCache(s3, BUCKET, "digits", cache_dir=tmp_path)
    assert again.get().loaded_from == "cache" and again.downloads == 0


def test_a_broken_promotion_keeps_the_served_model(s3, trained, tmp_path) -> None:
    digits.publish(s3, BUCKET, trained)
    clock = Clock()
    cache = model_store.ModelCache(s3, BUCKET, "digits", pointer_ttl=1, cache_dir=tmp_path, clock=clock)
    served = cache.get()
    bad = model_store.Pointer(
        "digits", "v3", "0" * 64, "models/digits/v3/model.onnx", "models/digits/v3/card.json", "now"
    )
    s3.put_object(Bucket=BUCKET, Key="models/digits/current.json", Body=bad.to_json().encode())
    clock.now += 2
    assert cache.get() is served  # v3 does not exist: keep serving, try again after the TTL


def test_no_model_or_a_corrupt_one_is_unavailable(s3, trained, tmp_path) -> None:
    cache = model_store.ModelCache(s3, BUCKET, "digits", cache_dir=tmp_path)
    with pytest.raises(model_store.ModelUnavailable, match="no model has been published"):
        cache.get()
    digits.publish(s3, BUCKET, trained)
    s3.put_object(Bucket=BUCKET, Key=f"models/digits/{trained.version}/model.onnx", Body=b"tampered")
    with pytest.raises(model_store.ModelUnavailable, match="sha256"):
        model_store.ModelCache(s3, BUCKET, "digits", cache_dir=tmp_path / "other").get()
