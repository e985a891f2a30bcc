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
- `states:startExecution.sync` / `.sync:2` (a nested workflow run to completion, e.g. an EXPRESS one): moto's task
  asked DescribeExecution over HTTP every 0.5 s, so each nested execution added 0.25 s on average after it had
  ended; the task now waits in-process to be woken by the child's end and asks DescribeExecution once it has
  ended, for the same result (output, or States.TaskFailed with the child's description as the cause).
- Service integrations reuse their boto3 clients: moto built a new client (endpoint, model, config) for every
  Task state it ran, several per execution, which cost more CPU than many of the calls themselves. boto3 clients
  are thread-safe, and moto's builder ignores everything but the region, the service and the endpoint.
- An execution reuses the parsed program of its definition: moto parsed the ASL (ANTLR, ~60 ms for the document
  workflow) at the start of every execution. The parsed components keep no per-execution state (it lives in the
  execution's Environment; Parallel and Map build their workers per evaluation), so one parse per definition.
- A JSONPath is parsed once per distinct path, not at every evaluation (see `_install_jsonpath_cache`).
- Standard executions put Step Functions' "Execution Status Change" event on the default bus (moto emits none)
  when they start (RUNNING) and when they end (SUCCEEDED, FAILED, TIMED_OUT, ABORTED), shaped like AWS's
  (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html), through the local cloud's EventBridge
  delivery; built only when a rule or archive of the bus could match it (`EventsDelivery.wants`).
- The `states:startExecution` integration works: moto passed the state's parameters (`StateMachineArn`,
  `Name`, `Input`) to boto3 as they are, which wants `stateMachineArn`, `name`, `input`, so every such task
  failed with States.Runtime (KeyError 'StateMachineArn'); its result now has AWS's shape (`ExecutionArn`,
  `StartDate`).
- A stop is final: moto's interpreter recorded any error a state raised after StopExecution (a Lambda task
  failing, a `.sync` wait ended by the stop) over the stop, so a stopped execution could end FAILED (and run its
  failure event) instead of ABORTED; `set_error`/`set_timed_out` now leave a stopped program stopped, as AWS does.
  StopExecution's `error` and `cause` reach the ExecutionAborted history event (moto dropped them for "").
"""

from __future__ import annotations

import datetime
import json
import re
import threading
import uuid
from typing import Any

# AWS: "The name must be 1-80 characters ... must not contain whitespace, brackets < > { } [ ], wildcard characters
# ? *, special characters " # % \ ^ | ~ ` $ & , ; : /, or control characters (U+0000-001F, U+007F-009F)".
_FORBIDDEN_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]")
_start_lock = threading.Lock()
# A .sync task waits for its child execution's end on an event of its own, registered under the child's ARN and
# set when that execution ends (moto has no completion signal) or when any stop is asked for (rare: the stopped
# parent's waiter then sees its own execution is over); the timeout is a backstop recheck. Polling every 20 ms
# kept 60 waiting document workflows waking 3,000 times a second on 2 cores; one condition notified at every
# execution's end still woke every waiter each time (60 x 120 wake-ups per 60 documents).
_sync_waiters: dict[str, set[threading.Event]] = {}
_sync_waiters_lock = threading.Lock()
SYNC_RECHECK_SECONDS = 0.5


def valid_execution_name(name: str) -> bool:
    return 1 <= len(name) <= 80 and not _FORBIDDEN_NAME.search(name)


def install() -> None:
    from moto.core.config import default_user_config
    from moto.stepfunctions import responses
    from moto.stepfunctions.exceptions import InvalidName
    from moto.stepfunctions.parser import models as parser_models

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    _install_sfn_integration()
    _install_sync_wait()
    _install_client_cache()
    _install_program_cache()
    _install_jsonpath_cache()
    _install_status_events()
    _install_final_stop()

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

    def stop_execution(self: Any) -> Any:
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))  # or the 400
        if not hasattr(execution, "exec_worker"):  # not the interpreter's execution: moto's own answer
            return original_stop(self)
        stopped = datetime.datetime.now(tz=datetime.UTC)
        execution.stop(stop_date=stopped, error=self._get_param("error") or "", cause=self._get_param("cause") or "")
        return responses.ActionResult({"stopDate": execution.stop_date or stopped})

    original_stop = responses.StepFunctionResponse.stop_execution
    responses.StepFunctionResponse.stop_execution = stop_execution


def _install_sfn_integration() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn as sfn,
    )

    original_parameters = sfn.StateTaskServiceSfn._normalise_parameters
    original_response = sfn.StateTaskServiceSfn._normalise_response

    def normalise_parameters(
        self: Any,
        parameters: dict,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original_parameters(
            self, parameters, boto_service_name=boto_service_name, service_action_name=service_action_name
        )
        # The Step Functions API's members are camelCase (stateMachineArn, name, input); ASL names them in
        # PascalCase.
        for key in list(parameters):
            if key[:1].isupper():
                parameters[key[0].lower() + key[1:]] = parameters.pop(key)

    def normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        original_response(
            self, response, boto_service_name=boto_service_name, service_action_name=service_action_name
        )
        if isinstance(response, dict):
            for key in list(response):
                value = response.pop(key)
                if isinstance(value, datetime.datetime):
                    value = value.isoformat()
                response[key[0].upper() + key[1:]] = value

    sfn.StateTaskServiceSfn._normalise_parameters = normalise_parameters
    sfn.StateTaskServiceSfn._normalise_response = normalise_response


def _install_sync_wait() -> None:
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn as sfn,
    )
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    def find(execution_arn: str) -> Any:
        # arn:<partition>:states:<region>:<account>:execution:<machine>:<name>
        parts = execution_arn.split(":")
        try:
            return stepfunctions_parser_backends[parts[4]][parts[3]].describe_execution(execution_arn)
        except Exception:  # unknown or malformed: let DescribeExecution answer as AWS would
            return None

    def ended(execution: Any) -> bool:
        if execution is None:
            return True
        status = getattr(execution, "exec_status", None)
        if status == ExecutionStatus.RUNNING:
            return False
        # moto sets SUCCEEDED a moment before the output: wait for both.
        return status != ExecutionStatus.SUCCEEDED or getattr(execution, "output", None) is not None

    def waiting(build: Any) -> Any:
        def builder(
            self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict, state_credentials: Any
        ) -> Any:
            top = env.stack[-1] if env.stack else None
            execution_arn = top.get("ExecutionArn") if isinstance(top, dict) else None
            resolve = build(self, env, resource_runtime_part, normalised_parameters, state_credentials)
            if resolve is None or not isinstance(execution_arn, str):
                return resolve

            def resolver() -> Any:
                execution = find(execution_arn)  # looked up once, then only its status is read
                woken = threading.Event()
                with _sync_waiters_lock:
                    _sync_waiters.setdefault(execution_arn, set()).add(woken)
                try:
                    while True:
                        woken.clear()  # before the check: an end between the check and the wait leaves it set
                        if not env.is_running() or ended(execution):
                            break
                        woken.wait(SYNC_RECHECK_SECONDS)
                finally:
                    with _sync_waiters_lock:
                        waiters = _sync_waiters.get(execution_arn, set())
                        waiters.discard(woken)
                        if not waiters:
                            _sync_waiters.pop(execution_arn, None)
                return resolve()

            return resolver

        return builder

    sfn.StateTaskServiceSfn._build_sync_resolver = waiting(sfn.StateTaskServiceSfn._build_sync_resolver)
    sfn.StateTaskServiceSfn._build_sync2_resolver = waiting(sfn.StateTaskServiceSfn._build_sync2_resolver)

    from moto.stepfunctions.parser.backend import execution as execution_module

    def wake(arn: str | None) -> None:
        with _sync_waiters_lock:
            waiters = [w for a, ws in _sync_waiters.items() if arn is None or a == arn for w in ws]
        for woken in waiters:
            woken.set()

    original_terminated = execution_module.BaseExecutionWorkerCommunication.terminated
    original_stop = execution_module.Execution.stop

    def terminated(self: Any) -> None:
        try:
            original_terminated(self)  # sets the status (and a success's output)
        finally:
            wake(self.execution.exec_arn)

    def stop(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original_stop(self, *args, **kwargs)
        finally:
            # Only the stop is asked for here (the status is set later, by terminated()); waking every waiter
            # ends a stopped parent's wait at once instead of at its next recheck.
            wake(None)

    execution_module.BaseExecutionWorkerCommunication.terminated = terminated
    execution_module.Execution.stop = stop


def _install_client_cache() -> None:
    import importlib

    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    clients: dict[tuple[str, str, bool, Any], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto's builder uses only these (state_credentials is accepted and ignored).
        key = (region, service, botocore_stubber.enabled, moto_server_port())
        client = clients.get(key)
        if client is None:
            with lock:
                client = clients.get(key)
                if client is None:
                    client = clients[key] = _client(region, service)
        return client

    boto_client.boto_client_for = boto_client_for
    # The integrations import the function by name: replace it where they hold it (the modules that import it in
    # moto 5.x; walking the whole package would import modules moto itself cannot import).
    base = "moto.stepfunctions.parser.asl.component.state.exec"
    for name in (
        f"{base}.state_task.lambda_eval_utils",
        *(f"{base}.state_task.service.state_task_service_{s}" for s in _INTEGRATIONS),
        f"{base}.state_map.item_reader.eval.resource_eval_s3",
        f"{base}.state_map.result_writer.resource_eval.resource_eval_s3",
    ):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = boto_client_for


def _client(region: str, service: str) -> Any:
    """moto's client (same endpoint, credentials, no retries, its timeouts), with a connection pool for the many
    executions that share it; Step Functions' own API in-process (`_InProcessStepFunctions`)."""
    if service == "stepfunctions":
        return _InProcessStepFunctions(_http_client(region, service))
    return _http_client(region, service)


class _InProcessStepFunctions:
    """The Step Functions API a workflow calls on itself (`states:startExecution`, `.sync`, `.sync:2`: start the
    child, then describe it when it has ended), answered by the interpreter's backend in the same process.

    Over HTTP each call cost the local cloud's one Python process both ends (boto3 building and parsing it, the
    server routing and serialising it): a nested workflow is two such calls per document. The answers are the
    backend's own (the same `to_describe_output` DescribeExecution serialises, None members dropped as the wire
    drops them); its errors reach the workflow as the ClientError boto3 would raise. Any other operation (an
    aws-sdk:sfn task) goes over HTTP as before."""

    def __init__(self, http: Any) -> None:
        self._http = http

    def __getattr__(self, operation: str) -> Any:
        return getattr(self._http, operation)

    @staticmethod
    def _backend(arn: str) -> Any:
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        parts = arn.split(":")  # arn:<partition>:states:<region>:<account>:...
        return stepfunctions_parser_backends[parts[4]][parts[3]]

    def _call(self, operation: str, call: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            answer = call()
        except Exception as exc:  # moto's errors (JsonRESTError and the parser's ServiceException alike)
            code = getattr(exc, "error_type", None) or getattr(exc, "code", None)
            status = getattr(exc, "status_code", None) or getattr(exc, "code", None)
            raise ClientError(
                {
                    "Error": {"Code": code if isinstance(code, str) else type(exc).__name__, "Message": str(exc)},
                    "ResponseMetadata": {
                        "HTTPStatusCode": status if isinstance(status, int) else 400,
                        "RequestId": str(uuid.uuid4()),
                    },
                },
                operation,
            ) from exc
        return {key: value for key, value in answer.items() if value is not None}

    # The API's parameter names, as the workflow's tasks pass them (boto3 keyword arguments).
    def start_execution(
        self, stateMachineArn: str, name: str | None = None, input: str | None = None, **_: Any
    ) -> Any:
        def start() -> dict[str, Any]:
            execution = self._backend(stateMachineArn).start_execution(stateMachineArn, name, input or "{}")
            return {"executionArn": execution.exec_arn, "startDate": execution.start_date}

        return self._call("StartExecution", start)

    def describe_execution(self, executionArn: str) -> Any:
        def describe() -> dict[str, Any]:
            return dict(self._backend(executionArn).describe_execution(executionArn).to_describe_output())

        return self._call("DescribeExecution", describe)


def _http_client(region: str, service: str) -> Any:
    import boto3
    from botocore.config import Config
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    kwargs = {} if botocore_stubber.enabled else {"endpoint_url": f"http://localhost:{moto_server_port()}"}
    return boto3.client(
        service_name=service,
        region_name=region,
        aws_access_key_id="ak",
        aws_secret_access_key="sk",
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            max_pool_connections=64,
        ),
        **kwargs,
    )


_INTEGRATIONS = ("aws_sdk", "batch", "dynamodb", "ecs", "events", "glue", "sfn", "sns", "sqs", "unsupported")


def _install_program_cache() -> None:
    import functools

    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend import execution_worker

    @functools.lru_cache(maxsize=256)
    def program(definition: str) -> Any:
        return AmazonStateLanguageParser.parse(definition)[0]

    def entrypoint(self: Any) -> Any:
        return program(self._evaluation_details.state_machine_details.definition)

    execution_worker.ExecutionWorker._get_evaluation_entrypoint = entrypoint


def _install_jsonpath_cache() -> None:
    import functools

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    # moto parses every JSONPath ("$.document", "$.Payload", ...) each time a state evaluates it, and
    # jsonpath_ng builds a new PLY parser for each parse (0.3-0.7 ms): 12-16 % of the local cloud's CPU while
    # document workflows ran. A parsed path is an immutable tree (find and update_or_create change the data,
    # never the path), so one parse per distinct path is shared by every execution and thread.
    json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)
    result_path.parse = functools.lru_cache(maxsize=4096)(result_path.parse)


STATUS_CHANGE = "Step Functions Execution Status Change"


def _epoch_ms(value: Any) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def status_change_event(execution: Any, status: str) -> dict[str, Any]:
    """The EventBridge event AWS puts on the default bus when a Standard execution's status changes."""
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    from ..clock import iso_now

    ended = status != "RUNNING"
    output = None
    if status == "SUCCEEDED":
        output = to_json_str(execution.output, separators=(",", ":"))
    state_machine = execution.state_machine
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": STATUS_CHANGE,
        "source": "aws.states",
        "account": execution.account_id,
        "time": iso_now(),
        "region": execution.region_name,
        "resources": [execution.exec_arn],
        "detail": {
            "executionArn": execution.exec_arn,
            # A version's or alias' execution names the machine it belongs to, as DescribeExecution does.
            "stateMachineArn": getattr(state_machine, "source_arn", None) or state_machine.arn,
            "name": execution.name,
            "status": status,
            "startDate": _epoch_ms(execution.start_date),
            "stopDate": _epoch_ms(execution.stop_date) if ended else None,
            "input": to_json_str(execution.input_data, separators=(",", ":")),
            "output": output,
            "inputDetails": {"included": True},
            "outputDetails": {"included": True} if output is not None else None,
            "error": execution.error if ended else None,
            "cause": execution.cause if ended else None,
            "redriveCount": 0,
            "redriveDate": None,
            "redriveStatus": "NOT_REDRIVABLE",
            "redriveStatusReason": "Execution is RUNNING and cannot be redriven" if not ended else None,
        },
    }


def _install_status_events() -> None:
    import logging

    from moto.stepfunctions.parser.api import StateMachineType
    from moto.stepfunctions.parser.backend import execution as execution_module

    from . import current

    log = logging.getLogger("localcloud.stepfunctions")

    def emit(execution: Any, status: str) -> None:
        # AWS emits these for Standard workflows only. (moto's `sm_type` is always STANDARD; `type` is the
        # machine's.)
        if (getattr(execution.state_machine, "type", None) or execution.sm_type) != StateMachineType.STANDARD:
            return
        try:
            events = current.events
            account, region = execution.account_id, execution.region_name
            if not events.wants(account, region, "default", "aws.states", STATUS_CHANGE):
                return
            events.put(account, region, "default", [status_change_event(execution, status)], forwarded=True)
        except Exception:  # the execution's outcome never depends on its notification
            log.exception("could not put the status change of %s on the default bus", execution.exec_arn)

    original_start = execution_module.Execution.start
    original_reflect = execution_module.BaseExecutionWorkerCommunication._reflect_execution_status

    def start(self: Any) -> None:
        if not self.exec_worker:  # moto refuses a second start: no event for it
            emit(self, "RUNNING")  # before the worker runs, so a short execution's end is put after it
        original_start(self)

    def reflect_execution_status(self: Any) -> None:
        original_reflect(self)
        status = self.execution.exec_status
        emit(self.execution, getattr(status, "value", str(status)))

    execution_module.Execution.start = start
    execution_module.BaseExecutionWorkerCommunication._reflect_execution_status = reflect_execution_status


def _install_final_stop() -> None:
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    def keeping_a_stop(original: Any) -> Any:
        def setter(self: Environment, *args: Any, **kwargs: Any) -> None:
            # The state mutex is re-entrant (moto's setters take it again inside); checking under it makes the
            # check and the overwrite one step against a concurrent StopExecution.
            with self._state_mutex:
                if isinstance(self._program_state, ProgramStopped):
                    return
                original(self, *args, **kwargs)

        return setter

    Environment.set_error = keeping_a_stop(Environment.set_error)
    Environment.set_timed_out = keeping_a_stop(Environment.set_timed_out)
