"""Deterministic zip archives: same files in, byte-identical zip out.

Everything that zipfile would otherwise take from the machine or the clock is fixed: entry order, timestamps,
the creating system, permissions and the deflate level.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

# The earliest time a zip header can hold; also what SOURCE_DATE_EPOCH is set to for pip.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
DEFLATE_LEVEL = 6
FILE_MODE = 0o644
EXECUTABLE_MODE = 0o755
_UNIX = 3  # ZipInfo.create_system: makes external_attr carry Unix permissions

EXCLUDED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git"})
EXCLUDED_NAMES = frozenset({".DS_Store"})
EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo"})


@dataclass(frozen=True, order=True)
class ZipEntry:
    """One file of an archive: where it goes (arcname) and where its bytes come from."""

    arcname: str
    source: Path
    executable: bool
    size: int


@dataclass(frozen=True)
class Digest:
    sha256: str
    sha256_base64: str
    size: int


def is_excluded(relpath: PurePosixPath) -> bool:
    """Build leftovers that must never reach an artifact (they differ between machines and runs)."""
    return (
        any(part in EXCLUDED_DIRS for part in relpath.parts[:-1])
        or relpath.name in EXCLUDED_DIRS
        or relpath.name in EXCLUDED_NAMES
        or relpath.suffix in EXCLUDED_SUFFIXES
    )


def is_built_bytecode(relpath: PurePosixPath) -> bool:
    """A ``__pycache__/<module>.<tag>.pyc`` (what compileall writes), as opposed to a stray ``.pyc``."""
    return len(relpath.parts) >= 2 and relpath.parts[-2] == "__pycache__" and relpath.suffix == ".pyc"


def collect(folder: Path, prefix: str = "", skip: Iterable[str] = (), bytecode: bool = False) -> list[ZipEntry]:
    """Every file under `folder`, placed under `prefix` in the archive, sorted by arcname.

    `skip` names paths relative to `folder` to leave out (e.g. a build config that is not code). `bytecode`
    keeps ``__pycache__/*.pyc``: only for a folder whose bytecode the build itself wrote
    (``build_deps.compile_bytecode``), never for source folders (their caches come from this machine).
    """
    skipped = set(skip)
    kept_dirs = EXCLUDED_DIRS - {"__pycache__"} if bytecode else EXCLUDED_DIRS
    entries = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in kept_dirs]
        for filename in filenames:
            path = Path(dirpath, filename)
            rel = PurePosixPath(path.relative_to(folder).as_posix())
            if (is_excluded(rel) and not (bytecode and is_built_bytecode(rel))) or str(rel) in skipped:
                continue
            stat = path.stat()
            arcname = str(PurePosixPath(prefix, rel)) if prefix else str(rel)
            entries.append(ZipEntry(arcname, path, bool(stat.st_mode & 0o111), stat.st_size))
    return sorted(entries)


def check_unique(entries: Iterable[ZipEntry]) -> None:
    seen: dict[str, Path] = {}
    for entry in entries:
        if entry.arcname in seen:
            raise ValueError(
                f"two files would be stored as {entry.arcname!r}: {seen[entry.arcname]} and {entry.source}"
            )
        seen[entry.arcname] = entry.source


def zip_info(entry: ZipEntry) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(entry.arcname, date_time=ZIP_EPOCH)
    info.create_system = _UNIX
    mode = EXECUTABLE_MODE if entry.executable else FILE_MODE
    info.external_attr = (0o100000 | mode) << 16  # regular file + permission bits
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


@contextmanager
def atomic_output(dest: Path) -> Iterator[BinaryIO]:
    """A file that becomes `dest` only once the block completes, so readers never see half a file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        tmp.chmod(FILE_MODE)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_zip(entries: Iterable[ZipEntry], dest: Path) -> None:
    """Write the entries to `dest` deterministically (sorted, fixed metadata), atomically."""
    ordered = sorted(entries)
    check_unique(ordered)
    with atomic_output(dest) as handle, zipfile.ZipFile(handle, "w") as archive:
        for entry in ordered:
            archive.writestr(zip_info(entry), entry.source.read_bytes(), compresslevel=DEFLATE_LEVEL)


def digest(path: Path) -> Digest:
    with path.open("rb") as handle:
        raw = hashlib.file_digest(handle, "sha256").digest()
    return Digest(raw.hex(), base64.b64encode(raw).decode("ascii"), path.stat().st_size)
