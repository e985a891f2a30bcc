"""The LocalStack path cannot run here (no Docker engine): check its pieces statically."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from sluicectl.clients import clients_for

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICE = COMPOSE["services"]["localstack"]
# terraform endpoint key -> LocalStack service name (None: configured for completeness, no resources use it)
ENDPOINT_SERVICES = {"sfn": "stepfunctions", "apigatewayv2": "apigateway", "xray": None}


def test_image_is_a_pinned_4x_community_release():
    assert re.fullmatch(r"localstack/localstack:4\.\d+\.\d+", SERVICE["image"]), SERVICE["image"]


def test_edge_port_is_published_on_loopback_only():
    assert "127.0.0.1:4566:4566" in SERVICE["ports"]


def test_health_check_waits_on_localstacks_health_endpoint():
    check = SERVICE["healthcheck"]
    assert "http://localhost:4566/_localstack/health" in " ".join(check["test"])
    assert check["retries"] >= 10 and check["interval"]


def test_lambda_can_start_function_containers():
    assert "/var/run/docker.sock:/var/run/docker.sock" in SERVICE["volumes"]


def test_auth_token_comes_from_the_environment_never_the_file():
    assert SERVICE["environment"]["LOCALSTACK_AUTH_TOKEN"] == "${LOCALSTACK_AUTH_TOKEN:-}"


def test_every_terraform_endpoint_is_an_enabled_service():
    providers = (ROOT / "terraform/environments/localstack/providers.tf").read_text()
    block = providers[providers.index("endpoints {") : providers.index("}", providers.index("endpoints {"))]
    keys = re.findall(r"^\s*(\w+)\s*=", block, flags=re.M)
    enabled = set(SERVICE["environment"]["SERVICES"].split(","))
    for key in keys:
        service = ENDPOINT_SERVICES.get(key, key)
        assert service is None or service in enabled, f"endpoint {key} → service {service} not in SERVICES"


def test_localstack_environment_targets_the_published_edge_port():
    variables = (ROOT / "terraform/environments/localstack/variables.tf").read_text()
    assert '"http://localhost:4566"' in variables


def test_localstack_client_aims_at_the_edge_endpoint():
    assert clients_for("localstack")("sqs").meta.endpoint_url == "http://localhost:4566"
