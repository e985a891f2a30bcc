"""Train the fraud model on the synthetic stream's labelled patterns, export it to ONNX, write its card, and
optionally publish it.

    python scripts/train_fraud_model.py [--out DIR] [--seed N] [--publish] [--bucket NAME] [--endpoint URL] [--no-promote]

Writes DIR/model.onnx and DIR/card.json (default dist/models/fraud/). Exits 1 when the held-out precision or
recall at the serving threshold is under 0.9. With --publish the model and card go to the model bucket (default:
the local environment's `inference_model_bucket_name` output on the running local cloud) and, unless
--no-promote, models/fraud/current.json moves to the new version; the scorer picks it up within its
MODEL_POINTER_TTL_SECONDS, without a redeploy. `make fraud-model` runs this with --publish.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# Run as `python scripts/train_fraud_model.py`, the repo root is not on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.train_model import _bucket_and_client
from sluicectl import fraud_model
from sluicectl.terraform import ROOT

console = Console()


def main(
    out: Annotated[Path, typer.Option(help="Folder for model.onnx and card.json.")] = ROOT
    / "dist"
    / "models"
    / fraud_model.NAME,
    seed: Annotated[
        int, typer.Option(help="Seed of the synthetic streams and the estimator.")
    ] = fraud_model.SEED,
    version: Annotated[
        str | None,
        typer.Option(help="Version label (default: the first 12 hex digits of the model's sha256)."),
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="Upload model + card to the model bucket.")
    ] = False,
    promote: Annotated[
        bool, typer.Option(help="With --publish: move models/fraud/current.json to this version.")
    ] = True,
    bucket: Annotated[
        str | None, typer.Option(help="Model bucket (default: the local environment's output).")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="Local cloud endpoint (default: the running instance).")
    ] = None,
) -> None:
    trained = fraud_model.train(seed=seed, version=version)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.onnx").write_bytes(trained.onnx)
    (out / "card.json").write_text(json.dumps(trained.card, indent=2, sort_keys=True) + "\n")
    held = trained.card["held_out"]
    console.print(
        f"model [bold]{trained.name}[/] {trained.version}: held-out precision [bold]{held['precision']:.4f}[/], recall "
        f"[bold]{held['recall']:.4f}[/] at {trained.card['threshold']} on {trained.card['training_data']['held_out']['transactions']:,} "
        f"transactions, {len(trained.onnx):,} bytes, trained in {trained.card['training_seconds']} s → {out}"
    )
    if not fraud_model.good_enough(trained):
        console.print(
            f"[red]under precision/recall {fraud_model.MIN_PRECISION}/{fraud_model.MIN_RECALL}[/]: not publishing"
        )
        raise typer.Exit(1)
    if publish:
        name, s3 = _bucket_and_client(bucket, endpoint)
        pointer = fraud_model.publish(s3, name, trained, promote=promote)
        console.print(
            f"[green]published[/] s3://{name}/{pointer.model_key} + card; {'promoted' if promote else 'not promoted'}"
        )


if __name__ == "__main__":
    typer.run(main)
