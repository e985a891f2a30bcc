"""scripts/build.py: deterministic zips, manifest, incremental builds, pruning, size check, --check."""

from __future__ import annotations

import base64
import hashlib
import json
import marshal
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `scripts` is a folder of the repo, not an installed package
    sys.path.insert(0, str(REPO))

from scripts import build, build_deps, build_zip  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "build"
LOCAL = build.Settings.for_target(build.Target.local)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of the fixture tree, free to modify."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "tree"))


def zip_bytes(dist: Path) -> dict[str, bytes]:
    return {p.relative_to(dist).as_posix(): p.read_bytes() for p in sorted(dist.rglob("*.zip"))}


def artifacts(dist: Path) -> dict[str, dict]:
    return json.loads((dist / "manifest.json").read_text())["artifacts"]


def run_cli(*args: str | Path) -> object:
    return CliRunner().invoke(build.app, [str(a) for a in args])


# --- discovery ------------------------------------------------------------------------------------------------


def test_discovers_functions_with_handler_and_layers_with_requirements_and_python(tree: Path) -> None:
    found = {a.key: a.layers for a in build.discover(tree)}

    assert found == {
        "layers/extra": (),
        "layers/shared": (),
        "functions/alpha": ("shared",),
        "functions/beta": ("shared", "extra"),
    }


def test_empty_tree_builds_an_empty_manifest(tmp_path: Path) -> None:
    result = run_cli("--root", tmp_path, "--dist", tmp_path / "dist")

    assert result.exit_code == 0, result.output
    assert "nothing to build" in result.output
    assert artifacts(tmp_path / "dist") == {}


def test_function_using_an_unknown_layer_fails_clearly(tree: Path) -> None:
    (tree / "functions/alpha/build.toml").write_text('layers = ["shared", "missing"]\n')

    result = run_cli("--root", tree, "--dist", tree / "dist")

    assert result.exit_code == 1
    assert "functions/alpha uses layer(s) missing" in result.output


def test_only_builds_the_named_function_and_its_layers(tree: Path) -> None:
    result = run_cli("--root", tree, "--dist", tree / "dist", "--only", "alpha")

    assert result.exit_code == 0, result.output
    assert sorted(artifacts(tree / "dist")) == ["functions/alpha", "layers/shared"]

    unknown = run_cli("--root", tree, "--dist", tree / "dist", "--only", "gamma")
    assert unknown.exit_code == 1
    assert "--only gamma: no function or layer of that name" in unknown.output


# --- determinism -------------------------------------------------------------------------------------------------


def test_two_builds_give_byte_identical_zips_and_manifest(tmp_path: Path) -> None:
    # Two copies at different paths with different mtimes: nothing of that may reach the output.
    first = Path(shutil.copytree(FIXTURE, tmp_path / "a"))
    second = Path(shutil.copytree(FIXTURE, tmp_path / "b"))
    for path in second.rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))

    build.build(first, tmp_path / "dist1", LOCAL)
    build.build(second, tmp_path / "dist2", LOCAL)

    assert zip_bytes(tmp_path / "dist1") == zip_bytes(tmp_path / "dist2")
    assert len(zip_bytes(tmp_path / "dist1")) == 4
    assert (tmp_path / "dist1/manifest.json").read_bytes() == (tmp_path / "dist2/manifest.json").read_bytes()


def test_zip_entries_are_sorted_with_fixed_metadata_and_no_caches(tree: Path) -> None:
    (tree / "functions/beta/models/__pycache__").mkdir()
    (tree / "functions/beta/models/__pycache__/score.cpython-311.pyc").write_bytes(b"\0")
    (tree / "functions/beta/stale.pyc").write_bytes(b"\0")
    (tree / "functions/beta/.DS_Store").write_bytes(b"\0")
    tool = tree / "functions/beta/models/tool.py"
    tool.write_text("print('run me')\n")
    tool.chmod(0o775)

    build.build(tree, tree / "dist", LOCAL)

    with zipfile.ZipFile(tree / "dist/functions/beta.zip") as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert names == [
        "beta/__init__.py",
        "beta/handler.py",
        "beta/models/__init__.py",
        "beta/models/score.py",
        "beta/models/tool.py",
        "beta/requirements.txt",
    ]  # build.toml is build configuration, not code
    for info in infos:
        assert info.date_time == build_zip.ZIP_EPOCH
        assert info.create_system == 3
        assert info.compress_type == zipfile.ZIP_DEFLATED
        expected = 0o755 if info.filename == "beta/models/tool.py" else 0o644
        assert info.external_attr >> 16 == 0o100000 | expected


def test_layer_zip_puts_the_python_folder_at_python(tree: Path) -> None:
    build.build(tree, tree / "dist", LOCAL)

    with zipfile.ZipFile(tree / "dist/layers/shared.zip") as archive:
        assert archive.namelist() == ["python/sluice/__init__.py", "python/sluice/settings.py"]


def test_manifest_format(tree: Path) -> None:
    build.build(tree, tree / "dist", LOCAL)

    text = (tree / "dist/manifest.json").read_text()
    manifest = json.loads(text)
    assert text.endswith("}\n")
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    assert (manifest["target"], manifest["python"]) == ("local", LOCAL.python)
    assert manifest["platform"] == LOCAL.platform
    alpha = manifest["artifacts"]["functions/alpha"]
    assert set(alpha) == {
        "path",
        "sha256",
        "sha256_base64",
        "size",
        "unzipped_size",
        "inputs_sha256",
        "layers",
    }
    assert "layers" not in manifest["artifacts"]["layers/shared"]
    zip_path = tree / "dist" / alpha["path"]
    raw = hashlib.sha256(zip_path.read_bytes()).digest()
    assert alpha["path"] == "functions/alpha.zip"
    assert alpha["sha256"] == raw.hex()
    assert alpha["sha256_base64"] == base64.b64encode(raw).decode()
    assert alpha["size"] == zip_path.stat().st_size
    with zipfile.ZipFile(zip_path) as archive:
        assert alpha["unzipped_size"] == sum(info.file_size for info in archive.infolist())
    assert alpha["layers"] == ["shared"]


# --- incremental builds ------------------------------------------------------------------------------------------


def test_changing_one_function_rebuilds_and_changes_only_that_artifact(tree: Path) -> None:
    dist = tree / "dist"
    build.build(tree, dist, LOCAL)
    before = artifacts(dist)

    unchanged = build.build(tree, dist, LOCAL)
    assert not any(outcome.built for outcome in unchanged.outcomes)
    assert artifacts(dist) == before

    (tree / "functions/alpha/logic.py").write_text(
        "def double(value: int) -> int:\n    return value + value\n"
    )
    report = build.build(tree, dist, LOCAL)

    assert [o.artifact.key for o in report.outcomes if o.built] == ["functions/alpha"]
    after = artifacts(dist)
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {"functions/alpha"}
    for field in ("sha256", "inputs_sha256"):
        assert before["functions/alpha"][field] != after["functions/alpha"][field]


def test_a_zip_that_differs_from_the_manifest_is_rebuilt(tree: Path) -> None:
    dist = tree / "dist"
    build.build(tree, dist, LOCAL)
    good = (dist / "functions/alpha.zip").read_bytes()
    (dist / "functions/alpha.zip").write_bytes(b"not a zip")

    report = build.build(tree, dist, LOCAL)

    assert [o.artifact.key for o in report.outcomes if o.built] == ["functions/alpha"]
    assert (dist / "functions/alpha.zip").read_bytes() == good


def test_zip_of_a_removed_function_is_deleted(tree: Path) -> None:
    dist = tree / "dist"
    build.build(tree, dist, LOCAL)
    shutil.rmtree(tree / "functions/beta")

    report = build.build(tree, dist, LOCAL)

    assert report.removed_zips == ["functions/beta.zip"]
    assert not (dist / "functions/beta.zip").exists()
    assert "functions/beta" not in artifacts(dist)


def test_inputs_hash_covers_names_modes_bytes_and_settings(tmp_path: Path) -> None:
    a = tmp_path / "a.py"
    a.write_text("x = 1\n")
    entry = build_zip.ZipEntry("pkg/a.py", a, False, a.stat().st_size)
    header = LOCAL.header()
    base = build.inputs_sha256(header, [entry])

    assert build.inputs_sha256(header, [entry]) == base
    assert build.inputs_sha256({**header, "python": "3.12"}, [entry]) != base
    assert build.inputs_sha256(header, [build_zip.ZipEntry("pkg/b.py", a, False, 6)]) != base
    assert build.inputs_sha256(header, [build_zip.ZipEntry("pkg/a.py", a, True, 6)]) != base
    a.write_text("x = 2\n")
    assert build.inputs_sha256(header, [entry]) != base


def test_layer_requirements_are_an_input(tree: Path) -> None:
    layer = next(a for a in build.discover(tree) if a.key == "layers/shared")
    header = build.artifact_header(LOCAL, layer)
    before = build.inputs_sha256(header, layer.input_files(layer.source_entries()))

    (tree / "layers/shared/requirements.txt").write_text("# still nothing, differently worded\n")

    assert build.inputs_sha256(header, layer.input_files(layer.source_entries())) != before


# --- --check ---------------------------------------------------------------------------------------------------


def test_check_passes_on_a_fresh_build_and_detects_a_tampered_zip(tree: Path) -> None:
    dist = tree / "dist"
    build.build(tree, dist, LOCAL)
    assert run_cli("--root", tree, "--dist", dist, "--check").exit_code == 0

    with zipfile.ZipFile(dist / "layers/shared.zip", "a") as archive:
        archive.writestr("python/sluice/evil.py", "raise SystemExit\n")
    result = run_cli("--root", tree, "--dist", dist, "--check")

    assert result.exit_code == 1
    assert "layers/shared: layers/shared.zip is missing or differs from the manifest" in result.output


def test_check_detects_sources_changed_since_the_build(tree: Path) -> None:
    build.build(tree, tree / "dist", LOCAL)
    (tree / "functions/beta/handler.py").write_text("def handler(event, context):\n    return {}\n")

    assert build.check(tree, tree / "dist", LOCAL) == ["functions/beta: sources changed since it was built"]


# --- dependencies: pruning and pip ---------------------------------------------------------------------------------


def fake_installed(target: Path, name: str, version: str, files: list[str], record: bool = True) -> None:
    dist_info = target / f"{name}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    for relpath in files:
        (target / relpath).parent.mkdir(parents=True, exist_ok=True)
        (target / relpath).write_text("# installed\n")
    if record:
        lines = [f"{relpath},sha256=x,12" for relpath in files]
        lines += [f"{dist_info.name}/RECORD,,", f"../../bin/{name},sha256=x,1"]
        (dist_info / "RECORD").write_text("\n".join(lines) + "\n")


def test_prune_removes_runtime_provided_packages_and_keeps_the_rest(tmp_path: Path) -> None:
    fake_installed(tmp_path, "boto3", "1.44.5", ["boto3/__init__.py", "boto3/data/s3/resources.json"])
    fake_installed(tmp_path, "botocore", "1.44.5", ["botocore/__init__.py"], record=False)
    fake_installed(tmp_path, "s3transfer", "0.19.3", ["s3transfer/__init__.py"])
    fake_installed(tmp_path, "jmespath", "1.1.0", ["jmespath/__init__.py"])
    outside = tmp_path.parent / "bin" / "boto3"  # a RECORD path outside the target is never touched
    outside.parent.mkdir(exist_ok=True)
    outside.write_text("keep\n")

    removed = build_deps.prune(tmp_path)

    assert removed == ["boto3==1.44.5", "botocore==1.44.5", "s3transfer==0.19.3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jmespath", "jmespath-1.1.0.dist-info"]
    assert outside.exists()


def test_scrub_removes_console_scripts_and_direct_url(tmp_path: Path) -> None:
    fake_installed(tmp_path, "tool", "1.0", ["tool/__init__.py", "bin/tool"])
    (tmp_path / "tool-1.0.dist-info/direct_url.json").write_text('{"url": "file:///home/me/tool"}')

    build_deps.scrub(tmp_path)

    assert not (tmp_path / "bin").exists()
    assert not (tmp_path / "tool-1.0.dist-info/direct_url.json").exists()
    assert (tmp_path / "tool/__init__.py").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", False), ("# only a comment\n\n", False), ("requests==2.34.2  # pinned\n", True)],
)
def test_has_requirements(tmp_path: Path, text: str, expected: bool) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(text)
    assert build_deps.has_requirements(requirements) is expected


def test_pip_command_for_aws_asks_for_lambda_wheels(tmp_path: Path) -> None:
    command = build_deps.pip_command(tmp_path / "requirements.txt", tmp_path / "t", aws_python="3.12")

    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--no-compile" in command
    joined = " ".join(command)
    assert (
        "--platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --only-binary=:all: "
        "--implementation cp --python-version 3.12" in joined
    )
    assert "--platform" not in build_deps.pip_command(tmp_path / "r.txt", tmp_path / "t", aws_python=None)


def write_wheel(folder: Path, name: str, files: dict[str, str], metadata: str = "") -> None:
    """A minimal pure-Python wheel, so pip can install offline from `folder`."""
    dist_info = f"{name}-1.0.dist-info"
    files = {
        **files,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{metadata}",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        raw = hashlib.sha256(text.encode()).digest()
        record.append(f"{path},sha256={base64.urlsafe_b64encode(raw).rstrip(b'=').decode()},{len(text)}")
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


def test_requirements_are_installed_offline_with_boto3_pruned(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(
        wheels,
        "fakedep",
        {
            "fakedep/__init__.py": "def main():\n    return 0\n",
            "fakedep-1.0.dist-info/entry_points.txt": "[console_scripts]\nfakedep = fakedep:main\n",
        },
        metadata="Requires-Dist: boto3\n",
    )
    write_wheel(wheels, "boto3", {"boto3/__init__.py": ""})
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    (tree / "functions/alpha/requirements.txt").write_text("fakedep==1.0\n")

    report = build.build(tree, tmp_path / "dist1", LOCAL, only=["alpha"])
    build.build(tree, tmp_path / "dist2", LOCAL, only=["alpha"])

    alpha = next(o for o in report.outcomes if o.artifact.key == "functions/alpha")
    assert alpha.notes == ["pruned boto3==1.0"]
    with zipfile.ZipFile(tmp_path / "dist1/functions/alpha.zip") as archive:
        names = archive.namelist()
    assert "fakedep/__init__.py" in names
    assert "alpha/handler.py" in names
    assert not [n for n in names if n.startswith(("boto3", "bin/"))]
    assert zip_bytes(tmp_path / "dist1") == zip_bytes(tmp_path / "dist2")
    # Installed modules ship precompiled (hash-based, naming the path they run from); the function's own do not.
    tag = sys.implementation.cache_tag
    assert f"fakedep/__pycache__/__init__.{tag}.pyc" in names
    assert not [n for n in names if n.startswith("alpha/") and n.endswith(".pyc")]
    with zipfile.ZipFile(tmp_path / "dist1/functions/alpha.zip") as archive:
        pyc = archive.read(f"fakedep/__pycache__/__init__.{tag}.pyc")
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, unchecked: no source mtime
    assert marshal.loads(pyc[16:]).co_filename == "/var/task/fakedep/__init__.py"


def test_no_bytecode_for_another_python(tmp_path: Path) -> None:
    (tmp_path / "dep.py").write_text("X = 1\n")

    assert not build_deps.compile_bytecode(tmp_path, "3.0", "/opt/python")
    assert not list(tmp_path.rglob("*.pyc"))


# --- size limit -----------------------------------------------------------------------------------------------


def test_size_check_allows_up_to_the_lambda_limit() -> None:
    limit = build.LAMBDA_UNZIPPED_LIMIT
    assert build.check_size_limit("alpha", limit - 100, {"shared": 100}) == limit


def test_size_check_fails_over_the_limit_with_the_breakdown() -> None:
    with pytest.raises(build.BuildError) as error:
        build.check_size_limit("alpha", 200_000_000, {"shared": 62_144_001})

    message = str(error.value)
    assert "functions/alpha is 262,144,001 bytes unzipped" in message
    assert "layer shared" in message
    assert "262,144,000" in message


def test_build_fails_when_a_function_and_its_layers_are_too_big(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "LAMBDA_UNZIPPED_LIMIT", 200)

    result = run_cli("--root", tree, "--dist", tree / "dist")

    assert result.exit_code == 1
    assert "build failed" in result.output
    assert "over the AWS Lambda limit of 200 bytes" in result.output


# --- command line ----------------------------------------------------------------------------------------------


def test_cli_runs_as_a_script_and_prints_a_summary(tree: Path) -> None:
    command = [
        sys.executable,
        str(REPO / "scripts/build.py"),
        "--root",
        str(tree),
        "--dist",
        str(tree / "dist"),
    ]
    first = subprocess.run(command, capture_output=True, text=True, check=False)
    second = subprocess.run(command, capture_output=True, text=True, check=False)

    assert first.returncode == 0, first.stderr
    assert "functions/beta" in first.stdout
    assert "4 built, 0 unchanged" in first.stdout
    assert "0 built, 4 unchanged" in second.stdout


def test_local_target_refuses_another_python_version(tree: Path) -> None:
    result = run_cli("--root", tree, "--python-version", "3.9")

    assert result.exit_code == 1
    assert "use --target aws" in result.output


def test_aws_target_defaults_to_python_312_and_dist_aws(tree: Path) -> None:
    result = run_cli("--root", tree, "--target", "aws")

    assert result.exit_code == 0, result.output
    manifest = json.loads((tree / "dist/aws/manifest.json").read_text())
    assert (manifest["target"], manifest["python"], manifest["platform"]) == (
        "aws",
        "3.12",
        "manylinux2014_x86_64",
    )


# --- the real repository ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_repo_local_build_is_reproducible(tmp_path: Path) -> None:
    if not any(a.kind == "functions" for a in build.discover(REPO)):
        pytest.skip("functions/ has no function (no functions/<name>/handler.py) yet")
    # A snapshot, so an edit made in the work tree while pip runs cannot pass for non-determinism.
    snapshot = tmp_path / "repo"
    for folder in ("functions", "layers"):
        shutil.copytree(REPO / folder, snapshot / folder, ignore=shutil.ignore_patterns("__pycache__"))

    # The shared layer and every function that runs on it alone, twice from scratch. The ml and train layers
    # (ONNX Runtime, numpy, scikit-learn, SciPy: minutes of pip per build) and their functions go through the
    # same installer and zip writer, so they would add time, not coverage; `make build` twice shows them
    # unchanged ("N unchanged").
    heavy = {"ml", "train"}
    only = [a.key for a in build.discover(snapshot) if a.name not in heavy and not heavy & set(a.layers)]
    assert len(only) >= 5, only
    build.build(snapshot, tmp_path / "dist1", LOCAL, only=only)
    build.build(snapshot, tmp_path / "dist2", LOCAL, only=only)

    assert artifacts(tmp_path / "dist1") == artifacts(tmp_path / "dist2")
    assert (tmp_path / "dist1/manifest.json").read_bytes() == (tmp_path / "dist2/manifest.json").read_bytes()
    assert zip_bytes(tmp_path / "dist1") == zip_bytes(tmp_path / "dist2")
