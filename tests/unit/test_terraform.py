"""Terraform checks: formatting, validation of every root configuration, `terraform test` of every module and
environment that has tests, and the module conventions of docs/architecture.md.

Everything runs on a copy of terraform/ in a pytest tmp dir, with one TF_DATA_DIR per configuration, so the
repository stays clean (init would otherwise write .terraform/ and .terraform.lock.hcl next to the code) and the
tests can run in parallel (`pytest -n auto -m terraform`). The environments' committed .terraform.lock.hcl files
are checked with `init -lockfile=readonly`.

The provider comes from the filesystem mirror (terraform/cli.tfrc; TF_PLUGIN_MIRROR overrides its location);
without the terraform binary or the mirror the tests that need them are skipped.

Module READMEs carry generated Inputs/Outputs tables between <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS -->.
Regenerate them after changing variables or outputs:

    SLUICE_TF_DOCS=update pytest tests/unit/test_terraform.py -k readme
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.terraform

REPO = Path(__file__).resolve().parents[2]
TF_ROOT = REPO / "terraform"
CLI_CONFIG = TF_ROOT / "cli.tfrc"
DEFAULT_MIRROR = Path("/opt/tf-plugins")
PROVIDER = ("registry.terraform.io", "hashicorp", "aws", "5.100.0")
TIMEOUT_SECONDS = 600

MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")


def blocks(config: Path, kind: str) -> list:
    """Every `kind` block ("variable", "output") of a configuration: variables*.tf / outputs*.tf, so a module
    may keep each part (e.g. each pipeline of the stack) in files of its own."""
    stem = {"variable": "variables", "output": "outputs"}[kind]
    return [b for path in sorted(config.glob(f"{stem}*.tf")) for b in parse_blocks(path.read_text(), kind)]


DOCS_BEGIN, DOCS_END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


# --------------------------------------------------------------------------------------------- discovery


def _rel(path: Path) -> str:
    return path.relative_to(TF_ROOT).as_posix()


def _has_tests(path: Path) -> bool:
    return any(path.glob("tests/*.tftest.hcl"))


MODULES = sorted(p for p in (TF_ROOT / "modules").iterdir() if (p / "main.tf").is_file())
ENVIRONMENTS = sorted(p for p in (TF_ROOT / "environments").iterdir() if (p / "main.tf").is_file())
EXAMPLES = sorted(p.parent for p in (TF_ROOT / "modules").glob("*/examples/*/main.tf"))
# Root configurations. (The stack is validated through every environment; modules through their tests, since
# `terraform test` validates the configuration first.)
VALIDATE_DIRS = [*ENVIRONMENTS, *EXAMPLES]
TEST_DIRS = [p for p in [*MODULES, *ENVIRONMENTS] if _has_tests(p)]
DOCUMENTED = [*MODULES, TF_ROOT / "stack"]


# --------------------------------------------------------------------------------------------- running terraform


def _terraform_binary() -> str | None:
    found = shutil.which("terraform")
    if found:
        return found
    fallback = Path("/usr/local/bin/terraform")
    return str(fallback) if fallback.is_file() else None


def _mirror() -> Path:
    return Path(os.environ.get("TF_PLUGIN_MIRROR", str(DEFAULT_MIRROR)))


@dataclass(frozen=True)
class Terraform:
    binary: str
    tree: Path  # the copy of terraform/
    cli_config: Path
    data_root: Path

    def run(self, config: Path, *args: str, data_dir: str) -> subprocess.CompletedProcess[str]:
        """Run `terraform <args>` in the copy of `config` (a path in the repo's terraform/ tree)."""
        cwd = self.tree / config.relative_to(TF_ROOT)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TF_", "AWS_")) and key != "CHECKPOINT_DISABLE"
        }
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            TF_DATA_DIR=str(self.data_root / data_dir),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",  # no version check over the network
            # Terraform and the (large) aws provider are Go programs that spend much of each start building the
            # provider schema; a less eager garbage collector cuts their CPU time by about a third (measured).
            GOGC=os.environ.get("GOGC", "400"),
            # Nothing here may reach AWS; mocked providers and validate do not need credentials.
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
        )
        command = [self.binary, *args]
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
        if result.returncode != 0:
            pytest.fail(
                f"`{' '.join(command[1:])}` in terraform/{_rel(config)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}",
                pytrace=False,
            )
        return result

    def init(self, config: Path, *, data_dir: str) -> None:
        args = ["init", "-backend=false", "-input=false", "-no-color"]
        if (config / ".terraform.lock.hcl").is_file():
            args.append("-lockfile=readonly")  # the committed lock file must already be right
        self.run(config, *args, data_dir=data_dir)


def _slug(config: Path, purpose: str) -> str:
    return f"{purpose}-{_rel(config).replace('/', '-')}"


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    binary = _terraform_binary()
    if binary is None:
        pytest.skip("terraform is not installed (expected on PATH or at /usr/local/bin/terraform)")
    mirror = _mirror()
    provider_dir = mirror.joinpath(*PROVIDER)
    if not provider_dir.is_dir():
        pytest.skip(
            f"the aws provider {PROVIDER[-1]} is not in the plugin mirror ({provider_dir} is missing; "
            "set TF_PLUGIN_MIRROR to the mirror's location)"
        )
    base = tmp_path_factory.mktemp("terraform")
    tree = base / "terraform"
    shutil.copytree(
        TF_ROOT,
        tree,
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.*", "backend.hcl", "*.tfplan"),
    )
    cli_config = CLI_CONFIG
    if mirror != DEFAULT_MIRROR:
        cli_config = base / "cli.tfrc"
        cli_config.write_text(CLI_CONFIG.read_text().replace(str(DEFAULT_MIRROR), str(mirror)))
    data_root = base / "data"
    data_root.mkdir()
    return Terraform(binary=binary, tree=tree, cli_config=cli_config, data_root=data_root)


# --------------------------------------------------------------------------------------------- terraform tests


def test_fmt(terraform: Terraform) -> None:
    """`terraform fmt -check -recursive terraform/` (run `terraform fmt -recursive terraform/` to fix)."""
    terraform.run(TF_ROOT, "fmt", "-check", "-recursive", "-diff", "-no-color", data_dir="fmt")


@pytest.mark.parametrize("config", VALIDATE_DIRS, ids=_rel)
def test_validate(terraform: Terraform, config: Path) -> None:
    """Every environment, module example and the stack initialise offline and validate."""
    data_dir = _slug(config, "validate")
    terraform.init(config, data_dir=data_dir)
    terraform.run(config, "validate", "-no-color", data_dir=data_dir)


@pytest.mark.parametrize("config", TEST_DIRS, ids=_rel)
def test_terraform_test(terraform: Terraform, config: Path) -> None:
    """`terraform test` (mocked aws provider: no credentials, no network) for every module and environment with
    tests/*.tftest.hcl. It validates the configuration and the test files first."""
    data_dir = _slug(config, "test")
    terraform.init(config, data_dir=data_dir)
    terraform.run(config, "test", "-no-color", data_dir=data_dir)


# --------------------------------------------------------------------------------------------- conventions (no terraform binary)


def test_layout_is_discovered() -> None:
    assert {p.name for p in MODULES} >= {
        "kms_key",
        "bucket",
        "queue",
        "table",
        "topic",
        "lambda_layer",
        "lambda_function",
        "event_rules",
    }
    assert {p.name for p in ENVIRONMENTS} == {"local", "localstack", "dev", "prod"}
    assert {p.name for p in TEST_DIRS} >= {m.name for m in MODULES} | {"dev", "prod"}


@pytest.mark.parametrize("module", MODULES, ids=_rel)
def test_module_layout(module: Path) -> None:
    """docs/architecture.md: main/variables/outputs/versions/README, an example, mocked-provider tests."""
    missing = [name for name in MODULE_FILES if not (module / name).is_file()]
    assert not missing, f"{_rel(module)} lacks {missing}"
    assert list(module.glob("examples/*/main.tf")), f"{_rel(module)} has no examples/<scenario>/main.tf"
    tests = list(module.glob("tests/*.tftest.hcl"))
    assert tests, f"{_rel(module)} has no tests/*.tftest.hcl"
    for test_file in tests:
        assert 'mock_provider "aws"' in test_file.read_text(), (
            f'{_rel(test_file)} must use mock_provider "aws"'
        )
    assert 'provider "aws"' not in (module / "main.tf").read_text(), (
        "modules take the provider from the caller"
    )


@pytest.mark.parametrize("versions", sorted(TF_ROOT.glob("**/versions.tf")), ids=_rel)
def test_versions_pinned(versions: Path) -> None:
    text = versions.read_text()
    assert re.search(r'required_version\s*=\s*">= 1\.11"', text), (
        f"{_rel(versions)}: required_version >= 1.11"
    )
    assert re.search(r'source\s*=\s*"hashicorp/aws"', text) and re.search(
        r'version\s*=\s*"5\.100\.0"', text
    ), f"{_rel(versions)}: aws provider pinned to 5.100.0"


@pytest.mark.parametrize("config", [*MODULES, TF_ROOT / "stack", *ENVIRONMENTS], ids=_rel)
def test_variables_are_typed_and_described(config: Path) -> None:
    for var in blocks(config, "variable"):
        assert var.attributes.get("type"), f"{_rel(config)}: variable {var.name} has no type"
        assert var.description, f"{_rel(config)}: variable {var.name} has no description"


@pytest.mark.parametrize("config", [*MODULES, TF_ROOT / "stack"], ids=_rel)
def test_outputs_are_described(config: Path) -> None:
    for output in blocks(config, "output"):
        assert output.description, f"{_rel(config)}: output {output.name} has no description"


# Concern modules that create CloudWatch alarms, and the output naming them.
ALARMING_MODULES = {
    "queue": "alarm_names",
    "lambda_function": "alarm_names",
    "kinesis_stream": "alarm_names",
    "http_api": "alarm_names",
    "state_machine": "alarm_name",
}


def test_every_alarm_of_the_stack_is_in_alarm_names() -> None:
    """`local.alarm_names` (the `alarm_names` output and the dashboard's status widgets) names the alarms of every
    alarming module instance and every alarm resource of the stack: a new pipeline cannot forget its alarms.
    Checked on the source: the expression of alarm_names, with the locals it refers to expanded."""
    stack = TF_ROOT / "stack"
    sources = {path: path.read_text() for path in sorted(stack.glob("*.tf"))}
    locals_ = {
        name: expression
        for text in sources.values()
        for block in parse_blocks(re.sub(r"^locals\s*\{", 'locals "_" {', text, flags=re.MULTILINE), "locals")
        for name, expression in block.attributes.items()
    }
    expanded, pending, seen = "", ["alarm_names"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        expanded += "\n" + locals_[name]
        pending += [ref for ref in re.findall(r"\blocal\.([A-Za-z_][A-Za-z0-9_]*)", locals_[name]) if ref in locals_]
    missing = []
    for text in sources.values():
        for module in parse_blocks(text, "module"):
            concern = hcl_string(module.attributes.get("source", "")).rsplit("/", 1)[-1]
            output = ALARMING_MODULES.get(concern)
            if output is None:
                continue
            direct = f"module.{module.name}.{output}"
            per_key = re.compile(rf"for (\w+) in values\(module\.{module.name}\)\s*:\s*\1\.{output}\b")
            if direct not in expanded and not per_key.search(expanded):
                missing.append(direct)
        for name in re.findall(r'^resource\s+"aws_cloudwatch_metric_alarm"\s+"([^"]+)"', text, re.MULTILINE):
            if f"aws_cloudwatch_metric_alarm.{name}" not in expanded:
                missing.append(f"aws_cloudwatch_metric_alarm.{name}")
    assert "module.ingest_queue.alarm_names" in expanded  # the expansion found the list
    assert not missing, f"alarms missing from local.alarm_names (terraform/stack/observability.tf): {missing}"


ENV_OUTPUTS_HEADER = (
    "# Re-exports of every stack output (terraform output -json; sluicectl and the tests read these). Generated from\n"
    "# terraform/stack/outputs*.tf by tests/unit/test_terraform.py (SLUICE_TF_DOCS=update rewrites this file).\n"
)


def render_environment_outputs() -> str:
    """An environment's outputs.tf: every stack output re-exported under its own name, description and sensitivity."""
    rendered = [ENV_OUTPUTS_HEADER]
    for output in blocks(TF_ROOT / "stack", "output"):
        lines = [f'output "{output.name}" {{']
        description = output.attributes.get("description", '""')
        lines.append(f"  description = {description}")
        lines.append(f"  value       = module.stack.{output.name}")
        if output.attributes.get("sensitive") == "true":
            lines.append("  sensitive   = true")
        rendered.append("\n".join(lines) + "\n}\n")
    return "\n".join(rendered)


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=_rel)
def test_environments_reexport_every_stack_output(env: Path) -> None:
    """sluicectl and the tests read `terraform output` of an environment: it must carry every stack output."""
    path, expected = env / "outputs.tf", render_environment_outputs()
    if path.read_text() == expected:
        return
    if os.environ.get("SLUICE_TF_DOCS") == "update":
        path.write_text(expected)
        return
    outputs = {o.name for o in blocks(env, "output")}
    stack_outputs = {o.name for o in blocks(TF_ROOT / "stack", "output")}
    pytest.fail(
        f"{_rel(path)} is out of date (missing {sorted(stack_outputs - outputs)}, extra {sorted(outputs - stack_outputs)}); "
        "regenerate with: SLUICE_TF_DOCS=update .venv/bin/pytest tests/unit/test_terraform.py -k reexport"
    )


@pytest.mark.parametrize("config", DOCUMENTED, ids=_rel)
def test_readme_tables_are_generated(config: Path) -> None:
    """The README's Inputs/Outputs tables match variables.tf/outputs.tf (SLUICE_TF_DOCS=update rewrites them)."""
    readme = config / "README.md"
    text = readme.read_text()
    assert DOCS_BEGIN in text and DOCS_END in text, (
        f"{_rel(readme)} lacks the {DOCS_BEGIN} / {DOCS_END} markers"
    )
    head, rest = text.split(DOCS_BEGIN, 1)
    _, tail = rest.split(DOCS_END, 1)
    expected = f"{head}{DOCS_BEGIN}\n{render_docs(config)}{DOCS_END}{tail}"
    if text == expected:
        return
    if os.environ.get("SLUICE_TF_DOCS") == "update":
        readme.write_text(expected)
        return
    pytest.fail(
        f"{_rel(readme)}: the Inputs/Outputs tables are stale; regenerate them with "
        "`SLUICE_TF_DOCS=update pytest tests/unit/test_terraform.py -k readme`",
        pytrace=False,
    )


# --------------------------------------------------------------------------------------------- a small HCL reader
# Just enough HCL to document variable and output blocks: top-level `name = expression` attributes, with
# strings (and their ${...} interpolations), heredocs, comments and nested brackets skipped correctly.


@dataclass
class Block:
    name: str
    attributes: dict[str, str]  # attribute name -> expression source text

    @property
    def description(self) -> str:
        return hcl_string(self.attributes.get("description", ""))


_BLOCK_START = re.compile(r'^(?P<kind>[a-z_]+)\s+"(?P<name>[^"]+)"\s*\{', re.MULTILINE)
_ATTRIBUTE = re.compile(r"[ \t]*(?P<name>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*=(?!=)[ \t]*")
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")


def _skip_string(text: str, i: int) -> int:
    """`text[i]` is the opening quote; returns the index after the closing one."""
    i += 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i + 1
        if text.startswith("${", i) or text.startswith("%{", i):
            i = _skip_brackets(text, i + 1)
            continue
        i += 1
    raise ValueError("unterminated string")


def _skip_heredoc(text: str, i: int) -> int | None:
    match = _HEREDOC.match(text, i)
    if not match:
        return None
    marker = match.group(2)
    end = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*$", re.MULTILINE).search(text, match.end())
    if not end:
        raise ValueError(f"unterminated heredoc {marker}")
    return end.end()


def _skip_comment(text: str, i: int) -> int | None:
    if text.startswith("#", i) or text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        return text.index("*/", i) + 2
    return None


def _skip_brackets(text: str, i: int) -> int:
    """`text[i]` opens a bracket ({, [ or (); returns the index after its match."""
    depth = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _skip_string(text, i)
            continue
        if char == "<" and (after := _skip_heredoc(text, i)) is not None:
            i = after
            continue
        if (after := _skip_comment(text, i)) is not None:
            i = after
            continue
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced brackets")


def _expression_end(text: str, i: int) -> int:
    """End of the expression starting at `i`: the first newline outside brackets, strings and heredocs."""
    while i < len(text):
        char = text[i]
        if char == "\n":
            return i
        if char == '"':
            i = _skip_string(text, i)
        elif char == "<" and (after := _skip_heredoc(text, i)) is not None:
            return after
        elif char in "{[(":
            i = _skip_brackets(text, i)
        elif (after := _skip_comment(text, i)) is not None:
            return after
        else:
            i += 1
    return i


def parse_blocks(text: str, kind: str) -> list[Block]:
    blocks = []
    for match in _BLOCK_START.finditer(text):
        if match.group("kind") != kind:
            continue
        body_start = match.end()
        body_end = _skip_brackets(text, match.end() - 1) - 1
        attributes: dict[str, str] = {}
        i = body_start
        while i < body_end:
            if (after := _skip_comment(text, i)) is not None:
                i = after
                continue
            attribute = _ATTRIBUTE.match(text, i)
            line_start = i == 0 or text[i - 1] == "\n"
            if attribute and line_start:
                value_start = attribute.end()
                value_end = _expression_end(text, value_start)
                attributes[attribute.group("name")] = text[value_start:value_end].strip()
                i = value_end
            elif text[i] in "{[(":
                i = _skip_brackets(text, i)  # nested blocks (validation { ... })
            elif text[i] == '"':
                i = _skip_string(text, i)
            else:
                i += 1
        blocks.append(Block(match.group("name"), attributes))
    return blocks


def hcl_string(expression: str) -> str:
    """The value of a literal HCL string or heredoc expression (the source text for anything else)."""
    expression = expression.strip()
    heredoc = _HEREDOC.match(expression + "\n")
    if heredoc:
        lines = expression[heredoc.end() - 1 :].strip("\n").split("\n")[:-1]
        if heredoc.group(1):  # <<- strips the common indentation
            indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
            lines = [line[indent:] for line in lines]
        return "\n".join(lines).strip()
    if expression.startswith('"') and expression.endswith('"'):
        body = expression[1:-1]
        return re.sub(r'\\([\\"nt])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)
    return expression


# --------------------------------------------------------------------------------------------- README tables


def _cell(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return text.replace("\n", "<br>")


def _code_cell(expression: str) -> str:
    if "\n" not in expression:
        return "`" + expression.replace("|", "\\|") + "`"
    first, *rest = expression.split("\n")
    indent = min(len(line) - len(line.lstrip()) for line in rest if line.strip())
    return "<pre>" + _cell("\n".join([first, *(line[indent:] for line in rest)])) + "</pre>"


def render_docs(config: Path) -> str:
    variables = blocks(config, "variable")
    outputs = blocks(config, "output")
    lines = ["## Inputs", "", "| Name | Description | Type | Default | Required |", "|---|---|---|---|:---:|"]
    for var in sorted(variables, key=lambda v: ("default" in v.attributes, v.name)):
        default = var.attributes.get("default")
        lines.append(
            f"| `{var.name}` | {_cell(var.description)} | {_code_cell(var.attributes.get('type', 'any'))} | "
            f"{'n/a' if default is None else _code_cell(default)} | {'no' if default is not None else 'yes'} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    for output in sorted(outputs, key=lambda o: o.name):
        lines.append(f"| `{output.name}` | {_cell(output.description)} |")
    return "\n".join(lines) + "\n"
