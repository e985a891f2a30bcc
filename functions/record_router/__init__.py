"""record_router: pipeline 2 (fan-out routing). Raw records in (``Record Submitted`` events on the domain bus and
JSON-lines files under ``records/`` in the landing bucket, both through the router queue), typed ``Record Routed``
events out, in PutEvents batches; what cannot be routed becomes a ``Record Unroutable`` event with the reason.

``handler.handler`` is the Lambda entry point; ``logic`` holds the pure classification steps.
"""
