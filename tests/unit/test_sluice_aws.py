"""sluice.aws: cached clients, shared Config, endpoints left to boto3."""

from __future__ import annotations

import pytest
from sluice import aws


def test_clients_are_cached_per_service_and_share_the_config() -> None:
    s3 = aws.client("s3")
    assert aws.client("s3") is s3
    assert aws.client("sqs") is not s3
    config = s3.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert (config.connect_timeout, config.read_timeout) == (3, 10)
    assert config.tcp_keepalive is True


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
