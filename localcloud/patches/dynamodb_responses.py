"""DynamoDB item responses written as JSON directly.

moto 5.2 passes every response through its shape-driven serializer (`moto/core/serialize.py`), which walks the
botocore output shape for every attribute of every item: ~2 ms per item returned, measured with cProfile (a
BatchGetItem of 100 items took ~200 ms on an idle core and 1-2.5 s under load, 90 % of the fraud scorer's batch
time). DynamoDB speaks JSON and moto's results for the item operations are already in the wire format
(attribute values as {"S": ...}, {"N": "..."}), so they are encoded with `json.dumps` as they are. Anything else
(other operations, a result json cannot encode, e.g. bytes) goes through moto's serializer as before.
"""

from __future__ import annotations

import json
from typing import Any

ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactGetItems",
    }
)


def install() -> None:
    from moto.core import responses

    original = responses.ActionResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        result = self.result
        if (
            isinstance(result, dict)
            and context.operation_model.name in ITEM_OPERATIONS
            and context.service_model.service_name == "dynamodb"
        ):
            try:
                body = json.dumps({k: v for k, v in result.items() if v is not None}, separators=(",", ":"))
            except (TypeError, ValueError):
                return original(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    responses.ActionResult.execute_result = execute_result
