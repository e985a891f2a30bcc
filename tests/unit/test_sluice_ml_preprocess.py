"""sluice_ml.preprocess: any PNG/JPEG of a digit -> the model's 64 features; bad inputs rejected with a code."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "ml" / "python"))

from sluice_ml import preprocess  # noqa: E402

from sluicectl import model as digits  # noqa: E402


@pytest.fixture(scope="module")
def split() -> tuple[np.ndarray, ...]:
    return digits.load_split()


@pytest.fixture(scope="module")
def trained() -> digits.TrainedModel:
    return digits.train(("svc",))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("size", [8, 16, 64, 200])
@pytest.mark.parametrize("invert", [False, True])
def test_an_integer_upscale_comes_back_as_the_digit_itself(split, size: int, invert: bool) -> None:
    _, X_test, _, _ = split
    for features in X_test[:20]:
        got = preprocess.features(digits.render_digit(features, size, "PNG", invert=invert))
        # Exact up to the contrast normalisation (the strongest ink -> 16) and 8-bit rounding.
        expected = features / features.max() * 16
        assert np.abs(got - expected).max() < 0.1


def test_rendered_held_out_digits_classify_at_any_size_format_and_polarity(split, trained) -> None:
    import onnxruntime as ort

    _, X_test, _, y_test = split
    session = ort.InferenceSession(trained.onnx, providers=["CPUExecutionProvider"])
    variants = [
        (8, "PNG", False),
        (28, "JPEG", True),
        (50, "PNG", True),
        (100, "JPEG", False),
        (333, "PNG", False),
    ]
    for size, fmt, invert in variants:
        batch = np.stack(
            [preprocess.features(digits.render_digit(x, size, fmt, invert=invert)) for x in X_test]
        )
        labels, _ = session.run(None, {"input": batch})
        accuracy = float((labels == y_test).mean())
        assert accuracy >= 0.95, (size, fmt, invert, accuracy)


def test_a_stroke_on_a_transparent_canvas_is_read_from_the_alpha_channel(split) -> None:
    _, X_test, _, _ = split
    features = X_test[0]
    alpha = Image.open(io.BytesIO(digits.render_digit(features, 64))).convert("L")
    for colour in ((0, 0, 0), (255, 255, 255)):  # black or white strokes: the same digit
        rgba = Image.new("RGBA", (64, 64), (*colour, 0))
        rgba.putalpha(alpha)
        got = preprocess.features(_png(rgba))
        assert np.abs(got - features / features.max() * 16).max() < 0.1


def test_a_non_square_image_keeps_its_aspect_ratio(split) -> None:
    _, X_test, _, _ = split
    features = X_test[3]
    wide = Image.new("L", (128, 64), 0)
    wide.paste(Image.open(io.BytesIO(digits.render_digit(features, 64))), (32, 0))
    got = preprocess.features(_png(wide)).reshape(8, 8)
    assert got[:2, :].max() < 0.5 and got[6:, :].max() < 0.5  # padded above and below, not stretched
    assert got[2:6, 2:6].max() > 8


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"hello, not an image", "invalid_image"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "unsupported_media_type"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "unsupported_media_type"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "invalid_image"),  # truncated
    ],
)
def test_bad_inputs_are_rejected_with_a_code(data: bytes, code: str) -> None:
    with pytest.raises(preprocess.ImageRejected) as caught:
        preprocess.features(data)
    assert caught.value.code == code and caught.value.reason


def test_a_blank_image_is_not_a_digit() -> None:
    with pytest.raises(preprocess.ImageRejected, match="blank"):
        preprocess.features(_png(Image.new("L", (32, 32), 255)))


def test_too_many_pixels_are_refused_before_decoding() -> None:
    data = _png(Image.new("L", (3000, 3000), 0))
    with pytest.raises(preprocess.ImageRejected) as caught:
        preprocess.features(data, max_pixels=1_000_000)
    assert caught.value.code == "too_large"


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(split) -> None:
    _, X_test, _, _ = split
    data = digits.render_digit(X_test[5], 2000, "JPEG")
    assert np.abs(preprocess.features(data) - X_test[5] / X_test[5].max() * 16).mean() < 0.5
