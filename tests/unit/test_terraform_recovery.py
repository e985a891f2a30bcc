"""sluicectl.terraform.created_twice: which resources an apply reports as created twice (the provider's SDK resent
a Create call the local cloud had carried out), so the apply can import them and go on."""

from __future__ import annotations

from sluicectl.terraform import created_twice

# What a CI apply printed (ANSI colours included), trimmed to its error blocks.
APPLY_OUTPUT = (
    "\x1b[31m╷\x1b[0m\x1b[0m\n\x1b[31m│\x1b[0m \x1b[0m\x1b[1m\x1b[31mError: \x1b[0m\x1b[0m\x1b[1mcreating AWS DynamoDB Table "
    "(sluice-local-document-results): operation error DynamoDB: CreateTable, https response error StatusCode: 400, "
    "RequestID: Cnz, ResourceInUseException: Table already exists: sluice-local-document-results\x1b[0m\n"
    "\x1b[31m│\x1b[0m \x1b[0m\n\x1b[31m│\x1b[0m \x1b[0m\x1b[0m  with module.stack.module.documents_results_table.aws_dynamodb_table.this,\n"
    "\x1b[31m│\x1b[0m \x1b[0m  on ../../modules/table/main.tf line 1, in resource \"aws_dynamodb_table\" \"this\":\n"
    "Error: creating Kinesis Stream (sluice-local-transactions): operation error Kinesis: CreateStream, "
    "ResourceInUseException: Stream sluice-local-transactions under account 123456789012 already exists.\n\n"
    "  with module.stack.module.transactions_stream.aws_kinesis_stream.this,\n"
    "Error: creating SQS Queue (sluice-local-x): QueueAlreadyExists: a queue by that name\n\n"
    "  with module.stack.module.x_queue.aws_sqs_queue.this,\n"  # import ID is the URL, not the name: not handled
    "Error: creating AWS DynamoDB Table (t): ValidationException: bad key schema\n\n"
    "  with module.stack.module.t.aws_dynamodb_table.this,\n"  # a real error: not a resend
)


def test_resources_created_twice_are_found_with_their_import_ids() -> None:
    assert created_twice(APPLY_OUTPUT) == [
        ("module.stack.module.documents_results_table.aws_dynamodb_table.this", "sluice-local-document-results"),
        ("module.stack.module.transactions_stream.aws_kinesis_stream.this", "sluice-local-transactions"),
    ]


def test_an_apply_that_failed_otherwise_has_nothing_to_import() -> None:
    assert created_twice("Error: creating AWS DynamoDB Table (t): ValidationException: nope\n\n  with a.aws_dynamodb_table.this,\n") == []
    assert created_twice("") == []
