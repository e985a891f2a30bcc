"""ingest_processor: pipeline 1 (event-triggered processing) of landed order objects.

``handler.handler`` is the Lambda entry point; ``logic`` holds the pure processing steps.
"""
