"""Build the Lambda artifacts deterministically.

    python scripts/build.py [--target local|aws] [--dist DIR] [--root DIR] [--only NAME ...]
                            [--python-version X.Y] [--check]

Writes dist/functions/<name>.zip, dist/layers/<layer>.zip and dist/manifest.json as docs/architecture.md
describes; docs/build.md explains the rules (determinism, targets, size check, incremental builds).
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import sys
import sysconfig
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.filesize import decimal
from rich.markup import escape
from rich.table import Table

# Run as `python scripts/build.py`, this folder is on sys.path but the repo root is not.
try:
    from scripts import build_deps, build_zip
except ModuleNotFoundError:
    import build_deps
    import build_zip

# Bump whenever the way artifacts are made changes: every inputs_sha256 changes, so everything rebuilds once.
BUILD_FORMAT = 2  # 2: installed dependencies ship precompiled bytecode
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_AWS_PYTHON = "3.12"
# AWS Lambda: a function plus all its layers, unzipped, may not exceed 250 MiB.
LAMBDA_UNZIPPED_LIMIT = 262_144_000
# A zip uploaded directly (CreateFunction / PublishLayerVersion with the zip in the request, as Terraform's
# `filename` does) may be at most 50 MiB; larger ones must go through S3.
LAMBDA_DIRECT_UPLOAD_LIMIT = 52_428_800
LAMBDA_MAX_LAYERS = 5
DEFAULT_LAYERS = ("shared",)
BUILD_CONFIG = "build.toml"
MANIFEST = "manifest.json"


class BuildError(Exception):
    """The build cannot go on; the message says what to fix."""


class Target(enum.StrEnum):
    local = "local"
    aws = "aws"


@dataclass(frozen=True)
class Settings:
    """What the artifacts are built for."""

    target: Target
    python: str
    platform: str

    @classmethod
    def for_target(cls, target: Target, python_version: str | None = None) -> Settings:
        running = f"{sys.version_info.major}.{sys.version_info.minor}"
        if target is Target.local:
            if python_version not in (None, running):
                raise BuildError(
                    f"--target local builds for the interpreter running the build (Python {running}); "
                    f"use --target aws to build for Python {python_version}"
                )
            return cls(target, running, sysconfig.get_platform())
        version = python_version or DEFAULT_AWS_PYTHON
        if not re.fullmatch(r"3\.\d{1,2}", version):
            raise BuildError(f"--python-version must look like 3.12, not {version!r}")
        return cls(target, version, build_deps.AWS_PLATFORM)

    @property
    def aws_python(self) -> str | None:
        return self.python if self.target is Target.aws else None

    def header(self) -> dict[str, str]:
        return {"target": self.target.value, "python": self.python, "platform": self.platform}


@dataclass(frozen=True)
class Artifact:
    kind: str  # "functions" or "layers"
    name: str
    folder: Path
    layers: tuple[str, ...] = ()  # functions only: the layers it runs with

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def path(self) -> str:
        return f"{self.kind}/{self.name}.zip"

    @property
    def requirements(self) -> Path:
        return self.folder / "requirements.txt"

    @property
    def install_prefix(self) -> str:
        return "python" if self.kind == "layers" else ""

    def source_entries(self) -> list[build_zip.ZipEntry]:
        if self.kind == "layers":
            return build_zip.collect(self.folder / "python", "python")
        # build.toml only feeds the manifest, it is not code.
        return build_zip.collect(self.folder, self.name, skip=[BUILD_CONFIG])

    def input_files(self, sources: Sequence[build_zip.ZipEntry]) -> list[build_zip.ZipEntry]:
        if self.kind == "functions":
            return list(sources)  # a function's requirements.txt and build.toml are among its sources
        extra = [self.requirements, self.folder / BUILD_CONFIG]
        return [*sources, *(build_zip.ZipEntry(p.name, p, False, p.stat().st_size) for p in extra if p.is_file())]


@dataclass
class Outcome:
    artifact: Artifact
    entry: dict[str, Any]
    built: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class BuildReport:
    settings: Settings
    dist: Path
    outcomes: list[Outcome]
    manifest: dict[str, Any]
    removed_zips: list[str]
    seconds: float


# --- discovery -------------------------------------------------------------------------------------------


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def read_layers(function_folder: Path) -> tuple[str, ...]:
    """The layers a function runs with: `layers = [...]` in its build.toml, ["shared"] without one."""
    config_path = function_folder / BUILD_CONFIG
    if not config_path.is_file():
        return DEFAULT_LAYERS
    try:
        config = tomllib.loads(config_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{config_path}: {exc}") from exc
    if unknown := sorted(set(config) - {"layers"}):
        raise BuildError(f"{config_path}: unknown setting(s) {', '.join(unknown)}; only `layers` is read")
    layers = config.get("layers", list(DEFAULT_LAYERS))
    if not isinstance(layers, list) or not all(isinstance(name, str) for name in layers):
        raise BuildError(f'{config_path}: layers must be a list of layer names, e.g. layers = ["shared"]')
    if len(set(layers)) != len(layers) or len(layers) > LAMBDA_MAX_LAYERS:
        raise BuildError(f"{config_path}: layers must be distinct and at most {LAMBDA_MAX_LAYERS}")
    return tuple(layers)


def read_excludes(layer_folder: Path) -> tuple[str, ...]:
    """Glob patterns (relative to the install folder, i.e. python/ in the zip) of installed files a layer leaves
    out: `exclude = [...]` in layers/<layer>/build.toml. For dead weight of its dependencies (tests, tools, a C API
    library the Python module does not load) that would push a layer over Lambda's limits."""
    config_path = layer_folder / BUILD_CONFIG
    if not config_path.is_file():
        return ()
    try:
        config = tomllib.loads(config_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{config_path}: {exc}") from exc
    if unknown := sorted(set(config) - {"exclude"}):
        raise BuildError(f"{config_path}: unknown setting(s) {', '.join(unknown)}; a layer's build.toml has only `exclude`")
    patterns = config.get("exclude", [])
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p and not p.startswith("/") for p in patterns):
        raise BuildError(f'{config_path}: exclude must be a list of relative glob patterns, e.g. ["numpy/**/tests/**"]')
    return tuple(patterns)


def exclude_installed(staging: Path, patterns: Sequence[str]) -> tuple[int, int]:
    """Delete the installed files matching `patterns`; (files, bytes) removed."""
    files = size = 0
    for pattern in patterns:
        for path in sorted(staging.glob(pattern)):
            if path.is_file() and not path.is_symlink():
                size += path.stat().st_size
                files += 1
                path.unlink()
    return files, size


def discover(root: Path) -> list[Artifact]:
    """Layers (layers/<layer>/ with requirements.txt and python/), then functions (functions/<name>/handler.py)."""
    layers = [
        Artifact("layers", folder.name, folder)
        for folder in _subfolders(root / "layers")
        if (folder / "requirements.txt").is_file() and (folder / "python").is_dir()
    ]
    layer_names = {layer.name for layer in layers}
    functions = []
    for folder in _subfolders(root / "functions"):
        if not (folder / "handler.py").is_file():
            continue
        if not folder.name.isidentifier():
            suggestion = re.sub(r"\W", "_", folder.name)
            raise BuildError(
                f"functions/{folder.name}: the folder is the Python package, so its name must be an identifier "
                f"(e.g. {suggestion})"
            )
        function = Artifact("functions", folder.name, folder, read_layers(folder))
        if missing := [name for name in function.layers if name not in layer_names]:
            raise BuildError(
                f"{function.key} uses layer(s) {', '.join(missing)}, but there is no layers/<layer>/ "
                "with requirements.txt and python/ of that name"
            )
        functions.append(function)
    return layers + functions


def select(artifacts: Sequence[Artifact], only: Iterable[str]) -> list[Artifact]:
    """The artifacts named by --only (bare name or kind/name), plus the layers of any chosen function."""
    names = [name for value in only for name in value.split(",") if name]
    if not names:
        return list(artifacts)
    chosen: set[Artifact] = set()
    for name in names:
        matches = [a for a in artifacts if name in (a.name, a.key)]
        if not matches:
            known = ", ".join(a.key for a in artifacts) or "nothing"
            raise BuildError(f"--only {name}: no function or layer of that name (found: {known})")
        chosen.update(matches)
    # The size check of a function needs its layers' sizes, so they are built (or found unchanged) too.
    layers = {a.name: a for a in artifacts if a.kind == "layers"}
    chosen.update(layers[name] for a in list(chosen) for name in a.layers)
    return [a for a in artifacts if a in chosen]


# --- pure pieces: hashing, size check, manifest -------------------------------------------------------------


def _field(hasher: Any, data: bytes) -> None:
    # Length-prefixed, so ("ab", "c") and ("a", "bc") never hash alike.
    hasher.update(len(data).to_bytes(8, "big"))
    hasher.update(data)


def inputs_sha256(header: Mapping[str, Any], files: Iterable[build_zip.ZipEntry]) -> str:
    """Hash of everything that determines an artifact: build settings and each input file's name, mode, bytes."""
    hasher = hashlib.sha256()
    _field(hasher, json.dumps({"format": BUILD_FORMAT, **header}, sort_keys=True).encode())
    for entry in sorted(files):
        _field(hasher, entry.arcname.encode())
        _field(hasher, b"755" if entry.executable else b"644")
        _field(hasher, entry.source.read_bytes())
    return hasher.hexdigest()


def artifact_header(settings: Settings, artifact: Artifact) -> dict[str, Any]:
    return {
        **settings.header(),
        "artifact": artifact.key,
        "runtime_provided": list(build_deps.RUNTIME_PROVIDED),
    }


def check_size_limit(
    function: str, function_size: int, layer_sizes: Mapping[str, int], limit: int | None = None
) -> int:
    """Total unzipped size of a function with its layers; BuildError if it is over Lambda's limit."""
    limit = LAMBDA_UNZIPPED_LIMIT if limit is None else limit
    total = function_size + sum(layer_sizes.values())
    if total > limit:
        parts = [f"function {decimal(function_size)}"]
        parts += [f"layer {name} {decimal(size)}" for name, size in layer_sizes.items()]
        raise BuildError(
            f"functions/{function} is {total:,} bytes unzipped with its layers ({', '.join(parts)}), over the "
            f"AWS Lambda limit of {limit:,} bytes ({limit / 2**20:g} MiB): trim its requirements or its layers"
        )
    return total


def manifest_document(settings: Settings, artifacts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {**settings.header(), "artifacts": {key: dict(artifacts[key]) for key in sorted(artifacts)}}


def dump_manifest(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def read_manifest(dist: Path) -> dict[str, Any] | None:
    path = dist / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BuildError(f"{path} is not valid JSON ({exc}); delete it to rebuild everything") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("artifacts"), dict):
        raise BuildError(f"{path} has no artifacts object; delete it to rebuild everything")
    return manifest


def write_manifest(dist: Path, manifest: Mapping[str, Any]) -> None:
    with build_zip.atomic_output(dist / MANIFEST) as handle:
        handle.write(dump_manifest(manifest).encode())


def zip_matches(zip_path: Path, entry: Mapping[str, Any]) -> bool:
    if not zip_path.is_file():
        return False
    digest = build_zip.digest(zip_path)
    return (digest.sha256, digest.sha256_base64, digest.size) == (
        entry.get("sha256"),
        entry.get("sha256_base64"),
        entry.get("size"),
    )


# --- building -----------------------------------------------------------------------------------------------


def build_artifact(
    artifact: Artifact,
    settings: Settings,
    dist: Path,
    previous: Mapping[str, Any] | None,
    layer_sizes: Mapping[str, int],
) -> Outcome:
    """Build one zip, or reuse it when its inputs are unchanged and the zip on disk is the recorded one."""
    sources = artifact.source_entries()
    inputs = inputs_sha256(artifact_header(settings, artifact), artifact.input_files(sources))
    zip_path = dist / artifact.path
    own_layers = {name: layer_sizes[name] for name in artifact.layers}

    if previous and previous.get("inputs_sha256") == inputs and zip_matches(zip_path, previous):
        entry = dict(previous)
        if artifact.kind == "functions":
            entry["layers"] = list(artifact.layers)
            check_size_limit(artifact.name, entry["unzipped_size"], own_layers)
        return Outcome(artifact, entry, built=False)

    notes = []
    with tempfile.TemporaryDirectory(prefix="sluice-build-") as staging_name:
        staging = Path(staging_name)
        entries = list(sources)
        if build_deps.has_requirements(artifact.requirements):
            try:
                build_deps.install(artifact.requirements, staging, aws_python=settings.aws_python)
            except build_deps.PipError as exc:
                raise BuildError(f"{artifact.key}: {exc}") from exc
            build_deps.scrub(staging)
            if removed := build_deps.prune(staging):
                notes.append(f"pruned {', '.join(removed)}")
            if artifact.kind == "layers" and (patterns := read_excludes(artifact.folder)):
                files, size = exclude_installed(staging, patterns)
                notes.append(f"excluded {files} files ({decimal(size)}, build.toml)")
            runtime_prefix = ("/opt/" if artifact.kind == "layers" else "/var/task/") + artifact.install_prefix
            compiled = build_deps.compile_bytecode(staging, settings.python, runtime_prefix.removesuffix("/"))
            if not compiled:
                notes.append(f"no bytecode (Python {settings.python} is not the build's interpreter)")
            entries += build_zip.collect(staging, artifact.install_prefix, bytecode=compiled)
        unzipped_size = sum(entry.size for entry in entries)
        if artifact.kind == "functions":
            check_size_limit(artifact.name, unzipped_size, own_layers)
        try:
            build_zip.write_zip(entries, zip_path)
        except ValueError as exc:
            raise BuildError(f"{artifact.key}: {exc}") from exc

    digest = build_zip.digest(zip_path)
    if digest.size > LAMBDA_DIRECT_UPLOAD_LIMIT:
        zip_path.unlink()
        raise BuildError(
            f"{artifact.key}: the zip is {decimal(digest.size)}, over the {decimal(LAMBDA_DIRECT_UPLOAD_LIMIT)} Lambda "
            "accepts in a direct upload; leave out what the code does not load (`exclude` in the layer's build.toml)"
        )
    entry: dict[str, Any] = {
        "path": artifact.path,
        "sha256": digest.sha256,
        "sha256_base64": digest.sha256_base64,
        "size": digest.size,
        "unzipped_size": unzipped_size,
        "inputs_sha256": inputs,
    }
    if artifact.kind == "functions":
        entry["layers"] = list(artifact.layers)
    return Outcome(artifact, entry, built=True, notes=notes)


def remove_stale_zips(dist: Path, keep: Iterable[str]) -> list[str]:
    """Delete zips under dist/functions and dist/layers that the manifest no longer lists."""
    kept = set(keep)
    removed = []
    for kind in ("functions", "layers"):
        for zip_path in sorted((dist / kind).glob("*.zip")):
            relpath = zip_path.relative_to(dist).as_posix()
            if relpath not in kept:
                zip_path.unlink()
                removed.append(relpath)
    return removed


def build(
    root: Path,
    dist: Path,
    settings: Settings,
    only: Iterable[str] = (),
    progress: Callable[[Artifact], None] | None = None,
) -> BuildReport:
    started = time.perf_counter()
    artifacts = discover(root)
    chosen = select(artifacts, only)
    previous = read_manifest(dist) or {}
    if any(previous.get(k) != v for k, v in settings.header().items()):
        previous = {}  # built for another target: nothing in it can be reused
    known = {a.key for a in artifacts}
    # Artifacts not rebuilt now (--only) keep their entries; artifacts whose folder is gone lose theirs.
    entries = {k: v for k, v in previous.get("artifacts", {}).items() if k in known}
    layer_sizes: dict[str, int] = {}
    outcomes = []
    try:
        for artifact in chosen:  # layers first: functions need their sizes
            if progress:
                progress(artifact)
            outcome = build_artifact(artifact, settings, dist, entries.get(artifact.key), layer_sizes)
            entries[artifact.key] = outcome.entry
            if artifact.kind == "layers":
                layer_sizes[artifact.name] = outcome.entry["unzipped_size"]
            outcomes.append(outcome)
    finally:
        # Also after a failure part-way: each entry matches the zip on disk (unfinished ones keep the old).
        manifest = manifest_document(settings, entries)
        write_manifest(dist, manifest)
    removed = remove_stale_zips(dist, (entry["path"] for entry in entries.values()))
    return BuildReport(settings, dist, outcomes, manifest, removed, time.perf_counter() - started)


def check(root: Path, dist: Path, settings: Settings, only: Iterable[str] = ()) -> list[str]:
    """Problems that make dist/ not an up-to-date build of root/ (empty list: all good)."""
    manifest = read_manifest(dist)
    if manifest is None:
        return [f"{dist / MANIFEST} does not exist: run the build first"]
    problems = [
        f"manifest is for {key} {manifest.get(key)!r}, expected {value!r}"
        for key, value in settings.header().items()
        if manifest.get(key) != value
    ]
    recorded = manifest["artifacts"]
    for artifact in select(discover(root), only):
        entry = recorded.get(artifact.key)
        if entry is None:
            problems.append(f"{artifact.key}: not in the manifest (never built)")
            continue
        if not zip_matches(dist / entry["path"], entry):
            problems.append(f"{artifact.key}: {entry['path']} is missing or differs from the manifest")
        header = artifact_header(settings, artifact)
        if entry.get("inputs_sha256") != inputs_sha256(
            header, artifact.input_files(artifact.source_entries())
        ):
            problems.append(f"{artifact.key}: sources changed since it was built")
    return problems


# --- command line -------------------------------------------------------------------------------------------

console = Console()
err_console = Console(stderr=True)
app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0] if __doc__ else None)


def summary_table(report: BuildReport) -> Table:
    settings = report.settings
    table = Table(
        title=f"target {settings.target} · python {settings.python} · {settings.platform}",
        title_justify="left",
        box=None,
        header_style="bold",
    )
    for column, justify in [
        ("artifact", "left"),
        ("result", "left"),
        ("zip", "right"),
        ("unzipped", "right"),
        ("with layers", "right"),
        ("notes", "left"),
    ]:
        # Only notes may wrap, so an 80-column CI log still shows whole names and sizes.
        table.add_column(column, justify=justify, no_wrap=column != "notes", overflow="fold")
    sizes = {key: entry["unzipped_size"] for key, entry in report.manifest["artifacts"].items()}
    for outcome in report.outcomes:
        entry, artifact = outcome.entry, outcome.artifact
        with_layers = ""
        if artifact.kind == "functions":
            total = entry["unzipped_size"] + sum(sizes[f"layers/{name}"] for name in artifact.layers)
            with_layers = f"{decimal(total)} ({total / LAMBDA_UNZIPPED_LIMIT:.1%})"
        table.add_row(
            artifact.key,
            "[green]built[/]" if outcome.built else "[dim]unchanged[/]",
            decimal(entry["size"]),
            decimal(entry["unzipped_size"]),
            with_layers,
            escape("; ".join(outcome.notes)),
        )
    if any(outcome.notes for outcome in report.outcomes):
        provided = ", ".join(build_deps.RUNTIME_PROVIDED)
        table.caption = f"pruned: left out because the Lambda runtime provides it ({provided})"
        table.caption_justify = "left"
    return table


@app.command()
def main(
    target: Annotated[
        Target,
        typer.Option(help="local: for this interpreter (what the local cloud runs); aws: Lambda wheels"),
    ] = Target.local,
    dist: Annotated[
        Path | None,
        typer.Option(help="Output folder.", show_default="ROOT/dist, ROOT/dist/aws for --target aws"),
    ] = None,
    root: Annotated[
        Path,
        typer.Option(help="Repository root holding functions/ and layers/.", show_default="this repo"),
    ] = REPO_ROOT,
    only: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            help="Build only this function or layer (repeatable or comma-separated); its layers come along.",
        ),
    ] = None,
    python_version: Annotated[
        str | None,
        typer.Option(metavar="X.Y", help="Python version of --target aws.", show_default=DEFAULT_AWS_PYTHON),
    ] = None,
    check_only: Annotated[
        bool,
        typer.Option(
            "--check", help="Build nothing; fail unless every zip matches the manifest and sources."
        ),
    ] = False,
) -> None:
    """Build the Lambda zips and dist/manifest.json deterministically (see docs/build.md)."""
    root = root.resolve()
    if dist is None:
        dist = root / "dist" / "aws" if target is Target.aws else root / "dist"
    dist = dist.resolve()
    try:
        settings = Settings.for_target(target, python_version)
        if check_only:
            problems = check(root, dist, settings, only or ())
            for problem in problems:
                err_console.print(f"[red]✗[/] {escape(problem)}", soft_wrap=True)
            if problems:
                err_console.print(
                    f"[bold red]check failed:[/] {len(problems)} problem(s) in {escape(str(dist))}; run the build",
                    soft_wrap=True,
                )
                raise typer.Exit(1)
            console.print(
                f"[green]✓[/] {escape(str(dist))} matches {MANIFEST} and the sources", soft_wrap=True
            )
            return
        with console.status("building") as status:
            report = build(
                root, dist, settings, only or (), progress=lambda a: status.update(f"building {a.key}")
            )
    except BuildError as exc:
        err_console.print(f"[bold red]build failed:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc

    if not report.outcomes:
        console.print(
            f"nothing to build: no functions/<name>/handler.py and no layers/<layer>/ under {root}",
            markup=False,
        )
    else:
        console.print(summary_table(report))
    built = sum(outcome.built for outcome in report.outcomes)
    for relpath in report.removed_zips:
        console.print(f"removed {relpath} (its source folder is gone)", markup=False)
    console.print(
        f"{built} built, {len(report.outcomes) - built} unchanged in {report.seconds:.1f}s → {dist / MANIFEST}",
        highlight=False,
    )


if __name__ == "__main__":
    app()
