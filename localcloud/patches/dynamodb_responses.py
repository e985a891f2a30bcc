"""DynamoDB item responses written as JSON directly.

moto 5.2 passes every response through its shape-driven serializer (`moto/core/serialize.py`), which walks the
botocore output shape for every attribute of every item: ~2 ms per item returned, measured with cProfile (a
BatchGetItem of 100 items took ~200 ms on an idle core and 1-2.5 s under load, 90 % of the fraud scorer's batch
time). DynamoDB speaks JSON and moto's results for the item operations are already in the wire format
(attribute values as {"S": ...}, {"N": "..."}), so they are encoded with `json.dumps` as they are. Anything else
(other operations, a result json cannot encode, e.g. bytes) goes through moto's serializer as before.

Requests the same way: moto parses every request body by walking the operation's input shape
(`moto/core/parse.py`), which for a BatchWriteItem of 25 feature-store items cost about as much as the write
itself (cProfile of the fraud scorer's calls). For the item operations that walk only turns JSON into the same
JSON, except for binary attribute values (base64 decoded to bytes), nulls and members the shape does not
know (dropped). A body holding none of those (checked on the raw bytes, conservatively: any ``"B"``/``"BS"``
key or ``null`` anywhere, even inside a string, falls back) is taken as ``json.loads`` gives it.

Items: moto builds every stored item attribute by attribute into a ``LimitedSizeDict`` that re-sums the size of
every attribute already there on each insert (quadratic; ~6% of the server's CPU under the stream benchmark,
py-spy --gil: 25 items per BatchWriteItem). The size only grows, so checking the total once after the last
attribute raises ``ItemSizeTooLarge`` for exactly the same items; the stored item is the same.
"""

from __future__ import annotations

import json
from typing import Any

#: Raw request bytes that need moto's shape-driven parser: binary attribute values and nulls.
_NEEDS_SHAPE_PARSER = (b'"B"', b'"BS"', b"null")

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


def fast_params(operation: str, body: bytes | str | None) -> dict[str, Any] | None:
    """The parsed parameters of an item operation's request, or None when moto's parser must do it."""
    if operation not in ITEM_OPERATIONS:
        return None
    raw = body.encode() if isinstance(body, str) else (body or b"")
    if any(marker in raw for marker in _NEEDS_SHAPE_PARSER):
        return None
    try:
        params = json.loads(raw) if raw else {}
    except ValueError:
        return None
    return params if isinstance(params, dict) and _known_members(operation, params) else None


def _known_members(operation: str, params: dict[str, Any]) -> bool:
    """Top-level members all in the operation's input shape (moto's parser would drop the others)."""
    from moto.core.utils import get_service_model

    shape = get_service_model("dynamodb").operation_model(operation).input_shape
    return shape is not None and all(name in shape.members for name in params)


#: moto's item size limit (LimitedSizeDict: "between 409 and 410KB" measured against AWS).
ITEM_SIZE_LIMIT = 405000


def _item_init() -> Any:
    """moto's ``Item.__init__`` with one size check for the whole item."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    def init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        values = LimitedSizeDict()
        size = 0
        for key, value in attrs.items():
            typed = DynamoType(value)
            size += bytesize(str(key)) + typed.size()
            dict.__setitem__(values, key, typed)
        if size > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = values

    return init


def install() -> None:
    from moto.core import responses
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.responses import DynamoHandler

    parse_parameters = DynamoHandler.parse_parameters

    def parse_item_request(self: Any, request: Any) -> None:
        params = fast_params(self._get_action(), request.data)
        if params is None:
            parse_parameters(self, request)
        else:
            self.params = params

    DynamoHandler.parse_parameters = parse_item_request

    Item.__init__ = _item_init()  # type: ignore[method-assign]

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
