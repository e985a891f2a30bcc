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
