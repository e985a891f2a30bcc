"""fanout_consumer: the consumers of pipeline 2's S3 fan-out. One package, deployed once per consumer
(``CONSUMER``: metadata, checksum, preview): each has its own queue and DLQ, fed by the same rule, so one failing
consumer never holds the others back. Each records its result on the upload's job; the consumer that completes
a job publishes "Upload Processed" on the domain bus (once, by Powertools idempotency on the job id).

``handler.handler`` is the Lambda entry point; ``logic`` holds the pure steps.
"""
