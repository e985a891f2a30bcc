"""Installing an artifact's requirements with pip, and tidying the result so it is reproducible."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

# The Lambda Python runtime ships these; bundling them only adds size and pins an older SDK over the runtime's.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
AWS_PLATFORM = "manylinux2014_x86_64"
# pip does not widen manylinux_2_28 to older tags, and numpy 2.x / onnxruntime ship only manylinux_2_28 wheels.
# The python3.12 runtime (Amazon Linux 2023, glibc 2.34) runs both tags.
AWS_EXTRA_PLATFORMS = ("manylinux_2_28_x86_64",)
# 1980-01-01T00:00:00Z, the zip epoch: anything a build backend stamps gets the same time as the zip entries.
SOURCE_DATE_EPOCH = "315532800"


class PipError(RuntimeError):
    pass


def has_requirements(requirements: Path) -> bool:
    """False for a missing, empty or comments-only requirements file (then pip is not run at all)."""
    if not requirements.is_file():
        return False
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    return any(lines)


def pip_command(requirements: Path, target_dir: Path, *, aws_python: str | None) -> list[str]:
    """pip install into `target_dir`; `aws_python` set means Lambda wheels for that Python, else this interpreter."""
    command = [
        sys.executable, "-m", "pip", "install",
        "--no-compile", "--no-input", "--disable-pip-version-check", "--no-warn-script-location",
        "--target", str(target_dir), "--requirement", str(requirements),
    ]  # fmt: skip
    if aws_python is not None:
        command += [
            "--platform", AWS_PLATFORM, *(arg for extra in AWS_EXTRA_PLATFORMS for arg in ("--platform", extra)),
            "--only-binary=:all:",
            "--implementation", "cp", "--python-version", aws_python,
        ]  # fmt: skip
    return command


def pip_env(base: Mapping[str, str]) -> dict[str, str]:
    return {
        **base,
        "PYTHONHASHSEED": "0",
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def install(requirements: Path, target_dir: Path, *, aws_python: str | None) -> None:
    result = subprocess.run(
        pip_command(requirements, target_dir, aws_python=aws_python),
        env=pip_env(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise PipError(f"pip install -r {requirements} failed (exit {result.returncode}):\n{tail}")


def compile_bytecode(target_dir: Path, python: str, runtime_prefix: str) -> bool:
    """Precompile the installed modules to ``__pycache__/*.cpython-XY.pyc`` with `python`, when this is that
    interpreter; False (nothing written) otherwise.

    Lambda's code and layer folders are read-only, so without bytecode in the zip every cold start compiles each
    module it imports from source (numpy, Powertools and pydantic alone take hundreds of ms). The files are
    hash-based (``unchecked-hash``: no source mtime in them, never revalidated: an artifact's files do not
    change) and name their source by `runtime_prefix` (e.g. "/opt/python"), not the staging folder, so two
    builds write identical bytes.
    """
    if python != f"{sys.version_info.major}.{sys.version_info.minor}":
        return False
    command = [
        sys.executable, "-m", "compileall", "-q", "-j", "1", "--invalidation-mode", "unchecked-hash",
        "-s", str(target_dir), "-p", runtime_prefix, str(target_dir),
    ]  # fmt: skip
    result = subprocess.run(
        command,
        env=pip_env(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise PipError(f"compileall {target_dir} failed (exit {result.returncode}):\n{tail}")
    return True


def scrub(target_dir: Path) -> None:
    """Remove what differs between two installs of the same wheels.

    bin/ holds console scripts whose shebang is this machine's interpreter path (useless on Lambda), and
    direct_url.json records the absolute path or URL a package was installed from.
    """
    shutil.rmtree(target_dir / "bin", ignore_errors=True)
    for direct_url in target_dir.glob("*.dist-info/direct_url.json"):
        direct_url.unlink()


def _distribution(dist_info: Path) -> tuple[str, str]:
    """(name, version) of an installed distribution, from its .dist-info folder name."""
    name, _, version = dist_info.name.removesuffix(".dist-info").partition("-")
    return canonicalize_name(name), version


def prune(target_dir: Path, names: tuple[str, ...] = RUNTIME_PROVIDED) -> list[str]:
    """Delete the installed distributions in `names` (files listed in their RECORD, then the .dist-info).

    Returns "name==version" for each one removed, sorted.
    """
    wanted = {canonicalize_name(n) for n in names}
    removed = []
    for dist_info in sorted(target_dir.glob("*.dist-info")):
        name, version = _distribution(dist_info)
        if name not in wanted:
            continue
        for path in _recorded_files(target_dir, dist_info):
            path.unlink(missing_ok=True)
        shutil.rmtree(dist_info)
        # No RECORD (or a partial one): the import package is named after the distribution.
        shutil.rmtree(target_dir / name.replace("-", "_"), ignore_errors=True)
        removed.append(f"{name}=={version}")
    _remove_empty_dirs(target_dir)
    return removed


def _recorded_files(target_dir: Path, dist_info: Path) -> list[Path]:
    record = dist_info / "RECORD"
    if not record.is_file():
        return []
    root = target_dir.resolve()
    files = []
    with record.open(newline="") as handle:
        for row in csv.reader(handle):
            if not row or not row[0]:
                continue
            path = (root / PurePosixPath(row[0])).resolve()
            if path.is_relative_to(root):  # RECORD may point outside (../../bin/...); never touch those
                files.append(path)
    return files


def _remove_empty_dirs(target_dir: Path) -> None:
    for dirpath, _, _ in os.walk(target_dir, topdown=False):
        path = Path(dirpath)
        if path != target_dir and not any(path.iterdir()):
            path.rmdir()
