"""Fixtures for tests that run against a local cloud process.

`cloud` is one local cloud per test session (its own port and state folder); tests create uniquely named
resources in it. `deployed` (pipelines) applies the local Terraform environment to it once per session.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.client import LocalCloudClient
from localcloud.testing import running_cloud

ROOT = Path(__file__).resolve().parents[2]
_names = itertools.count(1)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloudClient]:
    home = tmp_path_factory.mktemp("localcloud")
    with running_cloud(home=home, env={"LOCALCLOUD_ASYNC_RETRY_DELAYS": "0.2,0.4"}) as client:
        yield client
        if os.environ.get("CI"):
            print((home / "server.log").read_text()[-5000:])


@pytest.fixture
def unique() -> str:
    """A name no other test in this session uses."""
    return f"t{os.getpid()}-{next(_names)}"


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def role_arn(cloud: LocalCloudClient) -> str:
    iam = cloud.boto3_client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    return iam.create_role(RoleName="localcloud-test-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


class Deployment:
    """The local Terraform environment applied to the session's local cloud."""

    def __init__(self, cloud: LocalCloudClient, terraform, outputs: dict, apply_seconds: float) -> None:
        self.cloud = cloud
        self.terraform = terraform
        self.outputs = outputs
        self.apply_seconds = apply_seconds
        self._clients: dict[str, object] = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.cloud.boto3_client(service)
        return self._clients[service]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The local build (incremental: a no-op when dist/ is current)."""
    import subprocess
    import sys

    subprocess.run([sys.executable, str(ROOT / "scripts" / "build.py"), "--target", "local"], check=True, capture_output=True)
    return ROOT / "dist"


@pytest.fixture(scope="session")
def deployed(cloud: LocalCloudClient, artifacts: Path) -> Deployment:
    from sluicectl import inference
    from sluicectl.terraform import Terraform, check_toolchain

    problems = check_toolchain()
    if problems:
        pytest.skip("; ".join(problems))
    terraform = Terraform.local(cloud.endpoint, cloud.home / "terraform", artifacts)  # type: ignore[attr-defined]
    terraform.init()
    seconds = terraform.apply()
    outputs = terraform.outputs()
    inference.use_api_key(outputs)  # every client of the HTTP APIs sends the environment's development key
    return Deployment(cloud, terraform, outputs, seconds)
