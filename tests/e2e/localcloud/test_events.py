"""EventBridge rules to SQS, Lambda, SNS and Step Functions targets; S3 notifications; the control API."""

from __future__ import annotations

import json

import pytest

from localcloud.testing import wait_until
from tests.e2e.conftest import make_zip

pytestmark = pytest.mark.e2e

RECORDER = """
import json, os, boto3
SQS = boto3.client("sqs")

def handler(event, context):
    SQS.send_message(QueueUrl=os.environ["SEEN_URL"], MessageBody=json.dumps(event))
"""


@pytest.fixture
def clients(cloud):
    return {name: cloud.boto3_client(name) for name in ("sqs", "events", "lambda", "s3", "sns", "stepfunctions", "iam")}


def queue(clients, name):
    url = clients["sqs"].create_queue(QueueName=name)["QueueUrl"]
    arn = clients["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def bodies(clients, url, expected, timeout=20):
    found: list = []

    def probe():
        for message in clients["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            found.append(json.loads(message["Body"]))
            clients["sqs"].delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(found) >= expected

    wait_until(probe, timeout=timeout, what=f"{expected} messages in {url}", describe=lambda: found)
    return found


def put(clients, bus, detail, source="test.source", detail_type="TestEvent"):
    response = clients["events"].put_events(
        Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": bus}]
    )
    assert response["FailedEntryCount"] == 0, response
    return response["Entries"][0]["EventId"]


def test_rule_routes_matching_events_to_sqs_with_aws_envelope(clients, unique):
    events = clients["events"]
    events.create_event_bus(Name=unique)
    url, arn = queue(clients, unique)
    events.put_rule(Name=unique, EventBusName=unique, EventPattern=json.dumps({"detail": {"kind": ["order"], "amount": [{"numeric": [">", 100]}]}}))
    events.put_targets(Rule=unique, EventBusName=unique, Targets=[{"Id": "q", "Arn": arn}])
    event_id = put(clients, unique, {"kind": "order", "amount": 150})
    put(clients, unique, {"kind": "order", "amount": 50})
    put(clients, unique, {"kind": "refund", "amount": 500})
    [event] = bodies(clients, url, 1)
    assert event["id"] == event_id
    assert event["detail"] == {"kind": "order", "amount": 150}
    assert event["source"] == "test.source" and event["detail-type"] == "TestEvent"
    assert event["time"].endswith("Z") and "T" in event["time"]
    with pytest.raises(AssertionError):
        bodies(clients, url, 1, timeout=1.5)  # the two non-matching events never arrive


def test_input_transformer_and_disabled_rules(clients, unique):
    events = clients["events"]
    url, arn = queue(clients, unique)
    pattern = json.dumps({"source": [unique]})
    events.put_rule(Name=unique, EventPattern=pattern)
    events.put_targets(
        Rule=unique,
        Targets=[
            {
                "Id": "q",
                "Arn": arn,
                "InputTransformer": {
                    "InputPathsMap": {"key": "$.detail.key", "src": "$.source"},
                    "InputTemplate": '{"object": <key>, "from": <src>}',
                },
            }
        ],
    )
    put(clients, "default", {"key": "a/b.json"}, source=unique)
    assert bodies(clients, url, 1) == [{"object": "a/b.json", "from": unique}]
    events.disable_rule(Name=unique)
    put(clients, "default", {"key": "c.json"}, source=unique)
    with pytest.raises(AssertionError):
        bodies(clients, url, 1, timeout=1.5)


def test_lambda_sns_and_failing_targets(cloud, clients, role_arn, unique):
    events, sns = clients["events"], clients["sns"]
    seen_url, _ = queue(clients, f"{unique}-seen")
    sns_url, sns_queue_arn = queue(clients, f"{unique}-sns")
    dlq_url, dlq_arn = queue(clients, f"{unique}-target-dlq")
    function_arn = clients["lambda"].create_function(
        FunctionName=unique,
        Runtime="python3.11",
        Role=role_arn,
        Handler="fn.app.handler",
        Code={"ZipFile": make_zip({"fn/__init__.py": "", "fn/app.py": RECORDER})},
        Environment={"Variables": {"SEEN_URL": seen_url}},
    )["FunctionArn"]
    topic = sns.create_topic(Name=unique)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sns_queue_arn, Attributes={"RawMessageDelivery": "true"})
    events.put_rule(Name=unique, EventPattern=json.dumps({"source": [unique]}))
    events.put_targets(
        Rule=unique,
        Targets=[
            {"Id": "fn", "Arn": function_arn},
            {"Id": "topic", "Arn": topic},
            # A queue that does not exist: delivery fails, and the event goes to the target's DLQ.
            {"Id": "gone", "Arn": dlq_arn.replace(f"{unique}-target-dlq", f"{unique}-missing"), "DeadLetterConfig": {"Arn": dlq_arn}},
        ],
    )
    put(clients, "default", {"n": 1}, source=unique)
    [invoked] = bodies(clients, seen_url, 1)
    assert invoked["detail"] == {"n": 1}
    [published] = bodies(clients, sns_url, 1)
    assert published["detail"] == {"n": 1}
    messages = wait_until(
        lambda: clients["sqs"].receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"]).get("Messages"),
        timeout=20,
        what="dead-lettered event",
    )
    attributes = messages[0]["MessageAttributes"]
    assert attributes["ERROR_CODE"]["StringValue"] == "FAILED_DELIVERY"
    assert attributes["RULE_ARN"]["StringValue"].endswith(f"rule/{unique}")
    assert json.loads(messages[0]["Body"])["detail"] == {"n": 1}


def test_step_functions_target_starts_an_execution(clients, unique):
    sfn = clients["stepfunctions"]
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(
        name=unique, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    clients["events"].put_rule(Name=unique, EventPattern=json.dumps({"source": [unique]}))
    clients["events"].put_targets(Rule=unique, Targets=[{"Id": "sm", "Arn": machine, "RoleArn": "arn:aws:iam::123456789012:role/events"}])
    put(clients, "default", {"doc": "x"}, source=unique)
    executions = wait_until(lambda: sfn.list_executions(stateMachineArn=machine)["executions"], timeout=20, what="an execution")
    assert len(executions) == 1


def test_put_events_rejects_malformed_entries_per_entry(clients):
    response = clients["events"].put_events(
        Entries=[
            {"Source": "s", "DetailType": "d", "Detail": "[1, 2]"},
            {"Source": "s", "DetailType": "d", "Detail": "{not json"},
            {"Source": "s", "DetailType": "d", "Detail": "{}"},
        ]
    )
    assert response["FailedEntryCount"] == 2
    assert [e.get("ErrorCode") for e in response["Entries"]] == ["MalformedDetail", "MalformedDetail", None]


def test_s3_notifies_eventbridge_once_per_upload_with_the_s3_event_shape(clients, unique):
    s3, events = clients["s3"], clients["events"]
    bucket = f"{unique}-bucket"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    assert "EventBridgeConfiguration" in s3.get_bucket_notification_configuration(Bucket=bucket)
    url, arn = queue(clients, unique)
    events.put_rule(
        Name=unique,
        EventPattern=json.dumps(
            {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"wildcard": "incoming/*.json"}]}}}
        ),
    )
    events.put_targets(Rule=unique, Targets=[{"Id": "q", "Arn": arn}])
    put_result = s3.put_object(Bucket=bucket, Key="incoming/a b.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="incoming/skip.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="other/a.json", Body=b"{}")
    [event] = bodies(clients, url, 1)
    assert event["detail"]["object"]["key"] == "incoming/a+b.json"  # URL-encoded, as S3 sends keys
    assert event["detail"]["object"]["etag"] == put_result["ETag"].strip('"')
    assert event["detail"]["reason"] == "PutObject" and event["resources"] == [f"arn:aws:s3:::{bucket}"]
    with pytest.raises(AssertionError):
        bodies(clients, url, 1, timeout=1.5)


def test_s3_invokes_lambda_asynchronously(cloud, clients, role_arn, unique):
    seen_url, _ = queue(clients, f"{unique}-seen")
    function_arn = clients["lambda"].create_function(
        FunctionName=unique,
        Runtime="python3.11",
        Role=role_arn,
        Handler="fn.app.handler",
        Code={"ZipFile": make_zip({"fn/__init__.py": "", "fn/app.py": RECORDER})},
        Environment={"Variables": {"SEEN_URL": seen_url}},
    )["FunctionArn"]
    bucket = f"{unique}-bucket"
    clients["s3"].create_bucket(Bucket=bucket)
    clients["s3"].put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"LambdaFunctionConfigurations": [{"LambdaFunctionArn": function_arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    clients["s3"].put_object(Bucket=bucket, Key="x.csv", Body=b"a,b")
    [event] = bodies(clients, seen_url, 1)
    assert event["Records"][0]["s3"]["object"]["key"] == "x.csv"


def test_control_api_health_clock_and_status(cloud):
    health = cloud.health()
    assert health["status"] == "ok"
    before = cloud.advance_clock(0)["offset_s"]
    after = cloud.advance_clock(120)["offset_s"]
    assert after == before + 120
    status = cloud.status()
    assert {"functions", "queues", "deliveries", "quiescent"} <= status.keys()


def test_s3_access_logging_needs_a_policy_grant_next_to_a_tls_only_deny(clients, unique):
    s3 = clients["s3"]
    source, target = f"{unique}-src", f"{unique}-logs"
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=target)
    deny = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{target}", f"arn:aws:s3:::{target}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    grant = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{target}/*",
    }
    status = {"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": f"{source}/"}}
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    with pytest.raises(s3.exceptions.ClientError, match="InvalidTargetBucketForLogging"):
        s3.put_bucket_logging(Bucket=source, BucketLoggingStatus=status)
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny, grant]}))
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus=status)
    assert s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetBucket"] == target


def test_test_event_pattern_answers_with_aws_semantics(clients):
    events = clients["events"]
    event = {
        "id": "1", "account": "123456789012", "source": "sluice.router", "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail-type": "Record Routed",
        "detail": {"data_type": "image", "labels": [{"name": "cat", "score": 0.9}, {"name": "dog", "score": 0.2}]},
    }

    def result(pattern):
        return events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))["Result"]

    assert result({"detail": {"data_type": [{"anything-but": ["text", "tabular"]}]}}) is True
    assert result({"detail": {"labels": {"name": ["cat"], "score": [{"numeric": [">", 0.5]}]}}}) is True
    # Array consistency: "dog" and a score > 0.5 are in different elements (moto's flattening matcher says yes).
    assert result({"detail": {"labels": {"name": ["dog"], "score": [{"numeric": [">", 0.5]}]}}}) is False
    assert result({"$or": [{"source": ["elsewhere"]}, {"detail": {"data_type": [{"prefix": "im"}]}}]}) is True
    with pytest.raises(events.exceptions.InvalidEventPatternException, match="Reason: Unrecognized match type prefixx"):
        result({"source": [{"prefixx": "sluice."}]})
    with pytest.raises(Exception, match="Parameter Event is not valid"):
        events.test_event_pattern(EventPattern='{"source": ["x"]}', Event='{"source": "x"}')


def test_put_rule_refuses_invalid_patterns_and_rules_match_arrays_of_objects(clients, unique):
    events = clients["events"]
    with pytest.raises(events.exceptions.InvalidEventPatternException, match="Consecutive wildcard characters"):
        events.put_rule(Name=unique, EventPattern=json.dumps({"source": [{"wildcard": "a**"}]}))
    url, arn = queue(clients, unique)
    events.put_rule(Name=unique, EventPattern=json.dumps({"source": [unique], "detail": {"items": {"sku": ["A"], "qty": [{"numeric": [">=", 2]}]}}}))
    events.put_targets(Rule=unique, Targets=[{"Id": "q", "Arn": arn}])
    put(clients, "default", {"n": 1, "items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 5}]}, source=unique)  # no: across elements
    put(clients, "default", {"n": 2, "items": [{"sku": "B", "qty": 1}, {"sku": "A", "qty": 3}]}, source=unique)  # yes
    [event] = bodies(clients, url, 1)
    assert event["detail"]["n"] == 2
    with pytest.raises(AssertionError):
        bodies(clients, url, 1, timeout=1.5)
