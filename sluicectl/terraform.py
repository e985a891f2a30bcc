"""Run Terraform for an environment the way every make target and test does: offline provider mirror, the
local cloud's endpoint and state folder for `local`, the build's artifacts, high parallelism.

The `local` environment's state lives inside the local cloud instance's folder: moto keeps everything in memory,
so when the server restarts, the state must go with it (LocalCloud.start removes it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TERRAFORM_DIR = ROOT / "terraform"
DEFAULT_MIRROR = Path("/opt/tf-plugins")
# The aws provider retries for minutes on a 500 (moto answers 500 for what it lacks): fail fast instead, and
# create independent resources all at once (each SQS queue costs the provider ~20 s of waiting).
PARALLELISM = 40


class TerraformError(RuntimeError):
    pass


# Resource types whose import ID is the name the provider prints in "creating <Kind> (<name>)".
_IMPORTABLE_BY_NAME = ("aws_dynamodb_table", "aws_kinesis_stream", "aws_iam_role", "aws_lambda_function", "aws_cloudwatch_log_group", "aws_s3_bucket")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ALREADY = re.compile(r"already exists|ResourceInUseException|AlreadyExists", re.IGNORECASE)


def created_twice(output: str) -> list[tuple[str, str]]:
    """(address, import ID) of each resource an apply reports as "already exists" while creating it.

    Seen on the local cloud under load: the provider's SDK resends a Create call whose first attempt the server
    had carried out (a transport error on the answer), and the resend meets the resource the first one made. The
    resource is this apply's own, so importing it and applying again finishes the job; the provider gives no way to
    make its retries idempotent, hence this. Only types whose import ID is the printed name are recognised."""
    found = []
    for block in _ANSI.sub("", output).split("Error: ")[1:]:
        if not _ALREADY.search(block):
            continue
        name = re.match(r"creating [^(\n]*\(([^)\n]+)\)", block)
        where = re.search(r"with ([^\s,]+),", block)
        if name and where and where.group(1).rsplit(".", 2)[-2] in _IMPORTABLE_BY_NAME:
            found.append((where.group(1), name.group(1)))
    return found


def check_toolchain() -> list[str]:
    """Problems that stop Terraform from running here, each with what to do about it."""
    problems = []
    if shutil.which("terraform") is None:
        problems.append("terraform is not on PATH: install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)")
    mirror = Path(os.environ.get("TF_PLUGIN_MIRROR", DEFAULT_MIRROR))
    provider = mirror / "registry.terraform.io" / "hashicorp" / "aws"
    if not provider.is_dir():
        problems.append(
            f"no hashicorp/aws provider in the filesystem mirror {mirror}: set TF_PLUGIN_MIRROR to a mirror holding "
            "hashicorp/aws 5.100.0, or create one with `terraform providers mirror <dir>` on a machine with registry access"
        )
    return problems


def cli_config() -> Path:
    """The CLI config aimed at the provider mirror ($TF_PLUGIN_MIRROR overrides /opt/tf-plugins)."""
    mirror = os.environ.get("TF_PLUGIN_MIRROR")
    if not mirror:
        return TERRAFORM_DIR / "cli.tfrc"
    text = (TERRAFORM_DIR / "cli.tfrc").read_text().replace(str(DEFAULT_MIRROR), mirror)
    path = Path(tempfile.gettempdir()) / f"sluice-cli-{abs(hash(mirror))}.tfrc"
    path.write_text(text)
    return path


@dataclass
class Terraform:
    environment: str
    data_dir: Path  # TF_DATA_DIR: .terraform of this environment instance
    variables: dict[str, str] = field(default_factory=dict)
    backend_config: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def local(cls, endpoint: str, state_dir: Path, artifacts_dir: Path, api_endpoint: str | None = None) -> Terraform:
        """The local environment on the local cloud at `endpoint`; its HTTP APIs are served at `api_endpoint`
        (default: where the running instance says it serves them)."""
        if api_endpoint is None:
            from localcloud.client import LocalCloudClient

            api_endpoint = LocalCloudClient(endpoint).api_endpoint()
        return cls(
            "local",
            data_dir=state_dir / "tfdata",
            variables={"endpoint": endpoint, "api_endpoint": api_endpoint, "artifacts_dir": str(artifacts_dir)},
            backend_config={"path": str(state_dir / "terraform.tfstate")},
        )

    @property
    def workdir(self) -> Path:
        return TERRAFORM_DIR / "environments" / self.environment

    def _env(self) -> dict[str, str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config()),
            "TF_DATA_DIR": str(self.data_dir),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }

    def _vars(self) -> list[str]:
        return [f"-var={key}={value}" for key, value in sorted(self.variables.items())]

    def run(self, *args: str, capture: bool = False, check: bool = True) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        result = subprocess.run(
            ["terraform", f"-chdir={self.workdir}", *args],
            env=self._env(),
            text=True,
            capture_output=capture,
        )
        self.timings[args[0]] = time.monotonic() - started
        if check and result.returncode not in (0,):
            detail = (result.stderr or result.stdout or "")[-4000:] if capture else ""
            raise TerraformError(f"terraform {args[0]} ({self.environment}) failed with exit code {result.returncode}\n{detail}")
        return result

    def init(self, capture: bool = True) -> None:
        backend = [f"-backend-config={k}={v}" for k, v in sorted(self.backend_config.items())]
        self.run("init", "-input=false", "-reconfigure", *backend, capture=capture)

    def apply(self, capture: bool = True) -> float:
        started = time.monotonic()
        for attempt in range(3):
            try:
                self.run("apply", "-input=false", "-auto-approve", f"-parallelism={PARALLELISM}", *self._vars(), capture=capture)
                break
            except TerraformError as exc:
                twice = created_twice(str(exc)) if self.environment == "local" and attempt < 2 else []
                if not twice:
                    raise
                for address, import_id in twice:  # see created_twice
                    self.run("import", "-input=false", *self._vars(), address, import_id, capture=True)
        self.timings["apply"] = time.monotonic() - started
        return self.timings["apply"]

    def plan_changes(self, extra_vars: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The resource changes a plan would make (empty when the infrastructure matches the code)."""
        plan_file = self.data_dir / "check.tfplan"
        overrides = [f"-var={k}={v}" for k, v in sorted((extra_vars or {}).items())]
        self.run("plan", "-input=false", "-lock=false", f"-parallelism={PARALLELISM}", f"-out={plan_file}", *self._vars(), *overrides, capture=True)
        shown = self.run("show", "-json", str(plan_file), capture=True)
        plan = json.loads(shown.stdout)
        changes = []
        for change in plan.get("resource_changes", []):
            if change["change"]["actions"] in (["no-op"], ["read"]):
                continue
            before, after = change["change"].get("before") or {}, change["change"].get("after") or {}
            # Which attributes differ (values left out: they may be secrets): what a failed plan check reports.
            differing = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            changes.append({"address": change["address"], "actions": change["change"]["actions"], "attributes": differing})
        return changes

    def outputs(self) -> dict[str, Any]:
        shown = self.run("output", "-json", capture=True)
        return {name: value["value"] for name, value in json.loads(shown.stdout).items()}

    def destroy(self, capture: bool = True) -> None:
        self.run("destroy", "-input=false", "-auto-approve", f"-parallelism={PARALLELISM}", *self._vars(), capture=capture)
