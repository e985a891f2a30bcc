"""sluice.aws: cached clients, shared Config, endpoints left to boto3."""

from __future__ import annotations

import botocore.exceptions
import pytest
from botocore.stub import Stubber
from sluice import aws


def test_clients_are_cached_per_service_and_share_the_config() -> None:
    s3 = aws.client("s3")
    assert aws.client("s3") is s3
    assert aws.client("sqs") is not s3
    config = s3.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert (config.connect_timeout, config.read_timeout) == (3, 10)
    assert config.tcp_keepalive is True


def test_unvalidated_clients_skip_client_side_validation_only() -> None:
    checked = aws.client("dynamodb")
    fast = aws.client("dynamodb", validate=False)
    assert fast is aws.client("dynamodb", validate=False) and fast is not checked
    bad = {"RequestItems": {"t": [{"PutRequest": {"Item": {"n": {"N": 5}}}}]}}  # N must be a string
    with pytest.raises(botocore.exceptions.ParamValidationError):
        checked.batch_write_item(**bad)
    with Stubber(fast) as stubber:  # sent as it is: the service would answer ValidationException
        stubber.add_response("batch_write_item", {}, bad)
        fast.batch_write_item(**bad)
    assert fast.meta.config.retries == checked.meta.config.retries
    assert fast.meta.config.read_timeout == checked.meta.config.read_timeout


def test_resources_are_cached() -> None:
    assert aws.resource("dynamodb") is aws.resource("dynamodb")


def test_reset_forgets_clients() -> None:
    before = aws.client("dynamodb")
    aws.reset()
    assert aws.client("dynamodb") is not before


def test_regional_endpoint_by_default() -> None:
    assert aws.client("sqs").meta.endpoint_url == "https://sqs.us-east-1.amazonaws.com"


def test_aws_endpoint_url_is_honoured_not_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4580")
    aws.reset()
    assert aws.client("s3").meta.endpoint_url == "http://127.0.0.1:4580"
