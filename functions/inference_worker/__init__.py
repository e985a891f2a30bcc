"""inference_worker: pipeline 3 (async ML inference), the SQS consumer that classifies uploaded images in batches.

``handler.handler`` is the Lambda entry point; ``logic`` holds the batch processing.
"""
