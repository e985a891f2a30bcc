"""AWS clients for each place the stack runs: the embedded local cloud, LocalStack, or AWS itself.

LocalStack clients come from `localstack_client` (LOCALSTACK_HOST, default localhost:4566), as its users expect;
AWS clients from the default boto3 credential chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ENVIRONMENTS = ("local", "localstack", "dev", "prod")


def clients_for(environment: str, endpoint: str | None = None, region: str = "us-east-1") -> Callable[[str], Any]:
    if environment not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {environment!r}: one of {', '.join(ENVIRONMENTS)}")
    if environment == "local":
        from localcloud.client import LocalCloudClient

        client = LocalCloudClient(endpoint) if endpoint else LocalCloudClient.from_config()
        return client.boto3_client
    if environment == "localstack":
        from localstack_client.session import Session

        session = Session(region_name=region)
        return session.client
    import boto3

    session = boto3.Session(region_name=region)
    return session.client
