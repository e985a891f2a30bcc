"""sluice: the shared package of every sluice Lambda function (delivered as the ``${prefix}-shared`` layer).

Modules:

* ``settings``      environment read once into frozen, validated settings objects
* ``observability`` the one place Logger, Metrics and Tracer are created
* ``aws``           cached boto3 clients with a shared botocore Config
* ``errors``        the error taxonomy (PermanentError vs anything else = transient)
* ``events``        small, strict models of the AWS events the pipelines consume
* ``contracts``     JSON Schemas of the data contracts and ``validate(name, data)``
* ``failures``      failure records + direct dead-lettering of poison messages
* ``batch``         SQS batch processing with the PermanentError policy applied
* ``idempotency``   Powertools idempotency wired to the shared idempotency table

Importing ``sluice`` itself does no work; import the modules you need.
"""

__version__ = "0.1.0"
