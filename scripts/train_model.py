"""Train the digits classifier, export it to ONNX, write its model card, and optionally publish it.

    python scripts/train_model.py [--out DIR] [--candidates svc,logreg] [--seed N]
                                  [--publish] [--bucket NAME] [--endpoint URL] [--no-promote]

Writes DIR/model.onnx and DIR/card.json (default dist/models/digits/). Exits 1 when the held-out accuracy is
under 0.95. With --publish the model and card go to the model bucket (default: the local environment's
`inference_model_bucket_name` output on the running local cloud) and, unless --no-promote, the bucket's
models/digits/current.json pointer moves to the new version; running workers pick it up within their
MODEL_POINTER_TTL_SECONDS, without a redeploy. `make model` runs this with --publish.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# Run as `python scripts/train_model.py`, the repo root is not on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sluicectl import model as digits
from sluicectl.terraform import ROOT

console = Console()


def _bucket_and_client(bucket: str | None, endpoint: str | None) -> tuple[str, object]:
    from localcloud.client import LocalCloudClient

    client = LocalCloudClient(endpoint) if endpoint else LocalCloudClient.from_config()
    if client.health() is None:
        console.print(f"[red]no local cloud at {client.endpoint}[/]: `make up deploy` first (or give --endpoint)")
        raise typer.Exit(1)
    if bucket is None:
        from localcloud.config import Config
        from sluicectl.cli import local_terraform

        outputs = local_terraform(client, Config.from_env(), ROOT / "dist").outputs()
        bucket = outputs.get("inference_model_bucket_name")
        if not bucket:
            console.print("[red]the local environment has no inference_model_bucket_name output[/]: `make deploy` first")
            raise typer.Exit(1)
    return bucket, client.boto3_client("s3")


def main(
    out: Annotated[Path, typer.Option(help="Folder for model.onnx and card.json.")] = ROOT / "dist" / "models" / digits.NAME,
    candidates: Annotated[str, typer.Option(help="Estimators to compare by cross-validation (comma-separated).")] = ",".join(digits.CANDIDATES),
    seed: Annotated[int, typer.Option(help="Seed of the split and the estimators.")] = digits.SEED,
    version: Annotated[str | None, typer.Option(help="Version label (default: the first 12 hex digits of the model's sha256).")] = None,
    publish: Annotated[bool, typer.Option("--publish", help="Upload model + card to the model bucket.")] = False,
    promote: Annotated[bool, typer.Option(help="With --publish: move models/digits/current.json to this version.")] = True,
    bucket: Annotated[str | None, typer.Option(help="Model bucket (default: the local environment's output).")] = None,
    endpoint: Annotated[str | None, typer.Option(help="Local cloud endpoint (default: the running instance).")] = None,
) -> None:
    trained = digits.train(tuple(c.strip() for c in candidates.split(",") if c.strip()), seed=seed, version=version)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.onnx").write_bytes(trained.onnx)
    (out / "card.json").write_text(json.dumps(trained.card, indent=2, sort_keys=True) + "\n")
    card = trained.card
    console.print(
        f"model [bold]{trained.name}[/] {trained.version}: {card['estimator']['chosen']} "
        f"(cv {card['estimator']['cv_accuracy']}), held-out accuracy [bold]{trained.accuracy:.4f}[/] "
        f"on {card['held_out']['samples']} images, {len(trained.onnx):,} bytes, sha256 {trained.sha256[:16]}…, "
        f"trained in {card['training_seconds']} s → {out}"
    )
    if trained.accuracy < digits.MIN_ACCURACY:
        console.print(f"[red]held-out accuracy {trained.accuracy:.4f} is under {digits.MIN_ACCURACY}[/]: not publishing")
        raise typer.Exit(1)
    if publish:
        name, s3 = _bucket_and_client(bucket, endpoint)
        pointer = digits.publish(s3, name, trained, promote=promote)
        state = f"promoted (s3://{name}/{digits.model_store().pointer_key(trained.name)})" if promote else "not promoted"
        console.print(f"[green]published[/] s3://{name}/{pointer.model_key} + card; {state}")


if __name__ == "__main__":
    typer.run(main)
