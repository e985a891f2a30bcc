"""The Step Functions engine's JSONPath parses, remembered per path (localcloud.patches.stepfunctions
`_install_jsonpath_cache`): one parse serves every evaluation, and a shared parsed path gives each input its own
answer (reading, and ResultPath's update_or_create writing into the state)."""

from __future__ import annotations

from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.utils import json_path

from localcloud.patches import stepfunctions


def test_one_parse_per_path_serves_every_input(monkeypatch) -> None:
    monkeypatch.setattr(json_path, "parse", json_path.parse)  # undone after the test
    monkeypatch.setattr(result_path, "parse", result_path.parse)
    stepfunctions._install_jsonpath_cache()

    assert json_path.extract_json("$.document.key", {"document": {"key": "a.pdf"}}) == "a.pdf"
    assert json_path.extract_json("$.document.key", {"document": {"key": "b.txt"}}) == "b.txt"
    assert json_path.parse.cache_info().hits >= 1 and json_path.parse("$.document.key") is json_path.parse(
        "$.document.key"
    )

    # ResultPath: the same parsed path writes into two states; each keeps only its own result.
    first, second = {"document": 1}, {"document": 2}
    result_path.parse("$.analysis").update_or_create(first, ["positive"])
    result_path.parse("$.analysis").update_or_create(second, ["negative"])
    assert first == {"document": 1, "analysis": ["positive"]}
    assert second == {"document": 2, "analysis": ["negative"]}
    assert result_path.parse.cache_info().hits >= 1
