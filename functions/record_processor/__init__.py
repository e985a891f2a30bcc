"""record_processor: pipeline 2's per-type processors. One package, deployed once per route (``DATA_TYPE``): it
consumes its type's queue, checks every event at the edge (its contract, and that it is its type), summarises
the payload with the type's summariser and writes the result once, keyed on record_id.

``handler.handler`` is the Lambda entry point; ``logic`` holds the pure steps and ``SUMMARIZERS``.
"""
