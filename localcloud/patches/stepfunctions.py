"""Step Functions: executions run for real (moto's ASL interpreter, `execute_state_machine`), with AWS's API
around them where moto falls short.

- Executions are on from the start: no `POST /moto-api/config` needed. Lambda tasks call the local endpoint
  (`MOTO_PORT`), so they run in the local cloud's Lambda runtime like every other invocation (faults included).
- StartExecution: a missing name gets a UUID (moto built ARNs ending `:None`, so unnamed executions collided);
  names are validated like AWS (1-80 characters, none of AWS's forbidden ones); a name already used starts
  nothing new (same input and still running: the same execution; otherwise ExecutionAlreadyExists), atomically,
  so two identical events racing start one execution.
- DescribeExecution / ListExecutions: the output is always JSON (moto returned a plain string output unencoded,
  so `json.loads(output)` failed for clients).
- ValidateStateMachineDefinition and ListStateMachineVersions, which the Terraform provider calls, answer.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

# AWS: "The name must be 1-80 characters ... must not contain whitespace, brackets < > { } [ ], wildcard characters
# ? *, special characters " # % \ ^ | ~ ` $ & , ; : /, or control characters (U+0000-001F, U+007F-009F)".
_FORBIDDEN_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]")
_start_lock = threading.Lock()


def valid_execution_name(name: str) -> bool:
    return 1 <= len(name) <= 80 and not _FORBIDDEN_NAME.search(name)


def install() -> None:
    from moto.core.config import default_user_config
    from moto.stepfunctions import responses
    from moto.stepfunctions.exceptions import InvalidName
    from moto.stepfunctions.parser import models as parser_models

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True

    original_start = parser_models.StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: str | None = None,
        trace_header: Any = None,
    ) -> Any:
        name = name or str(uuid.uuid4())
        if not valid_execution_name(name):
            raise InvalidName(f"Invalid Name: '{name}'")
        # moto checks for an existing name, then appends: without the lock two identical starts both run.
        with _start_lock:
            return original_start(self, state_machine_arn, name, execution_input, trace_header)

    parser_models.StepFunctionsParserBackend.start_execution = start_execution

    def describe_execution(self: Any) -> Any:
        """The interpreter's own description: output JSON-encoded whatever its type, error and cause."""
        arn = self._get_param("executionArn")
        execution = self.stepfunction_backend.describe_execution(arn)
        if hasattr(execution, "to_describe_output"):
            return responses.ActionResult(execution.to_describe_output())
        return original_describe(self)

    original_describe = responses.StepFunctionResponse.describe_execution
    responses.StepFunctionResponse.describe_execution = describe_execution

    def validate_state_machine_definition(self: Any) -> Any:
        from moto.stepfunctions.parser.asl.parse.asl_parser import (
            AmazonStateLanguageParser,
            ASLParserException,
        )

        definition = self._get_param("definition")
        try:
            json.loads(definition)
            AmazonStateLanguageParser.parse(definition)
        except (ValueError, ASLParserException, Exception) as exc:  # the parser raises assorted types
            return responses.ActionResult(
                {
                    "result": "FAIL",
                    "diagnostics": [
                        {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": str(exc)[:500]}
                    ],
                    "truncated": False,
                }
            )
        return responses.ActionResult({"result": "OK", "diagnostics": [], "truncated": False})

    def list_state_machine_versions(self: Any) -> Any:
        # Versions are not published locally (the provider only calls this when `publish` is set or on read).
        self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        return responses.ActionResult({"stateMachineVersions": []})

    responses.StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
    responses.StepFunctionResponse.list_state_machine_versions = list_state_machine_versions
