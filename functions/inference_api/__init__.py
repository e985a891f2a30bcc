"""inference_api: pipeline 3 (async ML inference), the HTTP API that accepts images and shows results.

``handler.handler`` is the Lambda entry point; ``logic`` holds the request handling.
"""
