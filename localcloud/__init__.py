"""The embedded local cloud: a moto server plus the behaviour moto lacks.

moto stores the resources Terraform creates; this package makes them *behave*: a Lambda runtime that runs
built zips in warm execution environments, and the event deliveries (EventBridge targets, S3 notifications,
SQS/Kinesis/DynamoDB Streams pollers, schedules) with AWS semantics.

It never imports the project's functions or layers: it runs any built zip.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
