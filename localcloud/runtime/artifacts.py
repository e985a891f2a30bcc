"""Code on disk for execution environments: function zips and layers extracted once, keyed by their sha256,
and the runtime folder that stands in for what AWS's Python runtime image provides."""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

# What the AWS Python runtime image provides besides the standard library: the runtime interface client and
# the SDK. Everything else a function imports must come from its zip or its layers, as on AWS.
RUNTIME_MODULES = (
    "awslambdaric",
    "runtime_client",  # awslambdaric's C extension
    "simplejson",
    "snapshot_restore_py",
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "six",
    "urllib3",
)

_lock = threading.Lock()


def extract(zip_bytes: bytes, sha256_hex: str, root: Path) -> Path:
    """Extract a zip into root/<sha256> once; concurrent callers get the same folder."""
    target = root / sha256_hex
    if target.exists():
        return target
    with _lock:
        if target.exists():
            return target
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=root))
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            for info in archive.infolist():
                archive.extract(info, staging)
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    os.chmod(staging / info.filename, mode)
        os.replace(staging, target)
    return target


def layer_paths(layer_dir: Path, python_version: str) -> list[Path]:
    """The sys.path entries a layer adds on AWS (/opt/python/lib/pythonX.Y/site-packages and /opt/python)."""
    return [layer_dir / "python" / "lib" / f"python{python_version}" / "site-packages", layer_dir / "python"]


def runtime_dir(root: Path) -> Path:
    """A folder holding (as symlinks) only the modules the AWS Python runtime provides.

    Execution environments run with `python -S` and this folder last on PYTHONPATH, so a function that forgot a
    dependency fails locally the way it would on AWS instead of silently using the developer's venv.
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    target = root / f"python{version}"
    marker = target / ".complete"
    if marker.exists():
        return target
    with _lock:
        if marker.exists():
            return target
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for module in RUNTIME_MODULES:
            spec = importlib.util.find_spec(module)
            if spec is None or spec.origin is None:
                raise RuntimeError(
                    f"the local Lambda runtime needs the module {module!r} in the local cloud's environment "
                    "(pip install -r requirements/dev.txt)"
                )
            origin = Path(spec.origin)
            source = origin.parent if spec.submodule_search_locations else origin
            (target / source.name).symlink_to(source)
        marker.touch()
    return target
