"""Lambda entry point of the model trainer: a synchronous invoke from the model retrainer (``logic`` documents
the request and the response). Not on any queue or schedule: the retrainer owns retries, the claim and the
decision; an error here fails the retrainer's run, which gives its claim back and is retried by SQS.

Terraform handler string: ``model_trainer.handler.handler``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from sluice.observability import MetricUnit, logger, metrics

from . import logic


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    import sluice_train  # scikit-learn and scipy: imported here, measured in training_seconds' neighbour below

    response = logic.train(event, sluice_train)
    metrics.add_metric(name="TrainingSeconds", unit=MetricUnit.Seconds, value=response["training_seconds"])
    logger.info(
        "challenger trained",
        extra={
            "run_id": event.get("run_id"),
            "train_samples": response["train_samples"],
            "training_seconds": response["training_seconds"],
            "onnx_bytes": len(response["onnx_b64"]) * 3 // 4,
        },
    )
    return response
