"""The local cloud's moto routing patches (localcloud/patches/moto_core.py): a backend looked up through the fast
path is the one moto's own lookup gives, and a reset still empties and re-registers the backends."""

from __future__ import annotations

import moto.backends
from moto.core import responses
from moto.core.base_backend import BackendDict

from localcloud.patches import moto_core


def test_backend_lookups_are_moto_s_and_survive_a_reset(monkeypatch) -> None:
    monkeypatch.setattr(BackendDict, "__getitem__", BackendDict.__getitem__)  # all undone after the test
    monkeypatch.setattr(moto.backends, "list_of_moto_modules", moto.backends.list_of_moto_modules)
    monkeypatch.setattr(responses, "method_names_from_class", responses.method_names_from_class)
    from moto.sqs.models import sqs_backends

    BackendDict.reset()
    before = sqs_backends["123456789012"]["us-east-1"]
    moto_core.install()
    moto_core.install()  # idempotent: the fast path is not wrapped twice
    assert getattr(BackendDict.__getitem__, "_localcloud_fast", False)
    assert sqs_backends["123456789012"]["us-east-1"] is before
    assert sqs_backends in BackendDict._instances

    BackendDict.reset()
    assert "123456789012" not in dict.keys(sqs_backends) and sqs_backends not in BackendDict._instances
    after = sqs_backends["123456789012"]["us-east-1"]  # the slow path: created and registered again
    assert after is not before and sqs_backends in BackendDict._instances
    assert sqs_backends["123456789012"]["us-east-1"] is after


def test_remembered_routes_answer_as_werkzeug_and_forget_when_a_rule_is_added(monkeypatch) -> None:
    import pytest
    from werkzeug.exceptions import NotFound
    from werkzeug.routing import Map, Rule
    from werkzeug.routing.matcher import StateMachineMatcher

    monkeypatch.setattr(StateMachineMatcher, "match", StateMachineMatcher.match)
    monkeypatch.setattr(StateMachineMatcher, "add", StateMachineMatcher.add)
    moto_core._install_route_memory()
    moto_core._install_route_memory()  # idempotent
    routes = Map([Rule("/2015-03-31/functions/<name>/invocations", endpoint="invoke", methods=["POST"])])
    adapter = routes.bind("lambda.us-east-1.amazonaws.com")

    first = adapter.match("/2015-03-31/functions/a/invocations", method="POST")
    assert first == ("invoke", {"name": "a"})
    first[1]["name"] = "changed by a caller"  # each caller gets its own values
    assert adapter.match("/2015-03-31/functions/a/invocations", method="POST") == ("invoke", {"name": "a"})
    assert adapter.match("/2015-03-31/functions/b/invocations", method="POST") == ("invoke", {"name": "b"})
    with pytest.raises(NotFound):
        adapter.match("/2015-03-31/layers/a", method="POST")

    # A rule added later that wins over a remembered match: the memory is dropped, the new rule answers.
    assert adapter.match("/2015-03-31/functions/latest/invocations", method="POST") == ("invoke", {"name": "latest"})
    routes.add(Rule("/2015-03-31/functions/latest/invocations", endpoint="latest", methods=["POST"]))
    adapter = routes.bind("lambda.us-east-1.amazonaws.com")
    assert adapter.match("/2015-03-31/functions/latest/invocations", method="POST") == ("latest", {})
