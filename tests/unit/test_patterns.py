"""The local cloud's event pattern matcher (localcloud.patterns) against the cases of the EventBridge
documentation: every row is a pattern and an event from the docs (or from aws/event-ruler's README, the engine
behind EventBridge, where the docs are silent) with the documented outcome. No server; milliseconds.

Sources:
  [patterns]  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
  [operators] https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
              (content filtering: prefix, suffix, anything-but, numeric, cidr, exists, wildcard, $or)
  [arrays]    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
  [null]      https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
  [ruler]     https://github.com/aws/event-ruler (README: array consistency, $or, wildcard escapes)
"""

from __future__ import annotations

import json

import pytest

from localcloud import patterns
from localcloud.patterns import PatternError

EC2 = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}
AUTOSCALING = {
    "version": "0",
    "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
    "detail-type": "EC2 Instance Launch Successful",
    "source": "aws.autoscaling",
    "account": "123456789012",
    "time": "2015-11-11T21:31:47Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"eventVersion": "", "responseElements": None},
}
MACIE = {
    "source": "aws.macie",
    "detail-type": "Macie Alert",
    "detail": {
        "notification-type": "ALERT_CREATED",
        "tags": ["Custom_Alert", "Insider"],
        "risk-score": 80,
        "trigger": {"risk": 8},
    },
}
RULER = {
    "time": "2017-10-02T16:24:49Z",
    "source": "aws.ec2",
    "detail-type": "EC2 Instance State-change Notification",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}
EMPLOYEES = {
    "employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"},
    ]
}


def detail(**fields):
    return {"detail": fields}


# (id, pattern, event, expected)
CASES = [
    # --- [patterns] field and value matching
    (
        "ec2-termination",
        {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Instance State-change Notification"],
            "detail": {"state": ["terminated"]},
        },
        EC2,
        True,
    ),
    ("ec2-other-state", {"source": ["aws.ec2"], "detail": {"state": ["running"]}}, EC2, False),
    ("match-values-or", {"source": ["aws.ec2", "aws.fargate"]}, EC2, True),
    ("field-must-exist", {"detail": {"missing": ["x"]}}, EC2, False),
    ("same-nesting", {"state": ["terminated"]}, EC2, False),
    (
        "macie-values",
        {"source": ["aws.macie"], "detail": {"risk-score": [80], "trigger": {"risk": [8]}}},
        MACIE,
        True,
    ),
    (
        "macie-other-risk",
        {"source": ["aws.macie"], "detail": {"risk-score": [80], "trigger": {"risk": [9]}}},
        MACIE,
        False,
    ),
    ("case-sensitive", {"source": ["AWS.EC2"]}, EC2, False),
    ("number-text-300", {"detail": {"n": [300]}}, '{"detail": {"n": 300}}', True),
    ("number-text-300.0", {"detail": {"n": [300]}}, '{"detail": {"n": 300.0}}', False),
    ("number-text-3.0e2", {"detail": {"n": [300]}}, '{"detail": {"n": 3.0e2}}', False),
    ("string-is-not-number", {"detail": {"n": ["300"]}}, detail(n=300), False),
    ("true-literal", {"detail": {"ok": [True]}}, detail(ok=True), True),
    ("true-is-not-string", {"detail": {"ok": ["true"]}}, detail(ok=True), False),
    # --- [null] null and empty strings
    ("empty-string", {"detail": {"eventVersion": [""]}}, AUTOSCALING, True),
    (
        "null-value",
        {"source": ["aws.autoscaling"], "detail": {"responseElements": [None]}},
        AUTOSCALING,
        True,
    ),
    ("empty-string-is-not-null", {"detail": {"responseElements": [""]}}, AUTOSCALING, False),
    ("null-is-not-empty-string", {"detail": {"eventVersion": [None]}}, AUTOSCALING, False),
    ("null-is-not-missing", {"detail": {"absent": [None]}}, AUTOSCALING, False),
    # --- [arrays] an event array matches if it intersects the pattern's values
    (
        "resources-intersect",
        {
            "resources": [
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
            ]
        },
        {
            "resources": [
                "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
            ]
        },
        True,
    ),
    (
        "resources-disjoint",
        {"resources": ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]},
        EC2,
        False,
    ),
    ("array-of-tags", {"detail": {"tags": ["Insider"]}}, MACIE, True),
    # --- [ruler] arrays of objects: one element must match the whole sub-pattern
    ("objects-in-array", {"employees": {"firstName": ["Anna"]}}, EMPLOYEES, True),
    ("objects-same-element", {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, EMPLOYEES, True),
    (
        "objects-across-elements",
        {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
        EMPLOYEES,
        False,
    ),
    (
        "nested-arrays-crushed",
        {"employees": {"firstName": ["Peter"]}},
        {"employees": [[{"firstName": "John"}], [{"firstName": "Peter"}]]},
        True,
    ),
    # --- [operators] prefix
    ("prefix", {"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-02T18:43:48Z"}, True),
    ("prefix-other", {"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-03T18:43:48Z"}, False),
    (
        "prefix-region",
        {"source": ["aws.autoscaling"], "region": [{"prefix": "eu-"}]},
        {"source": "aws.autoscaling", "region": "eu-west-1"},
        True,
    ),
    ("prefix-strings-only", {"detail": {"n": [{"prefix": "1"}]}}, detail(n=12), False),
    (
        "prefix-ignore-case",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        detail(service="eventbridge"),
        True,
    ),
    (
        "prefix-ignore-case-upper",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        detail(service="EVENTBRIDGE"),
        True,
    ),
    (
        "prefix-ignore-case-other",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        detail(service="Lambda"),
        False,
    ),
    # --- suffix
    ("suffix", {"FileName": [{"suffix": ".png"}]}, {"FileName": "image.png"}, True),
    ("suffix-case-sensitive", {"FileName": [{"suffix": ".png"}]}, {"FileName": "image.PNG"}, False),
    (
        "suffix-ignore-case",
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        detail(FileName="image.PNG"),
        True,
    ),
    ("suffix-other", {"FileName": [{"suffix": ".png"}]}, {"FileName": "image.jpg"}, False),
    # --- equals-ignore-case
    ("equals-ignore-case", {"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "Alice"}, True),
    ("equals-ignore-case-other", {"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "Alicia"}, False),
    # --- anything-but
    (
        "anything-but-string",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        detail(state="running"),
        True,
    ),
    (
        "anything-but-string-excluded",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        detail(state="initializing"),
        False,
    ),
    (
        "anything-but-needs-field",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        detail(other="x"),
        False,
    ),
    (
        "anything-but-number",
        {"detail": {"x-limit": [{"anything-but": 123}]}},
        detail(**{"x-limit": 124}),
        True,
    ),
    (
        "anything-but-number-excluded",
        {"detail": {"x-limit": [{"anything-but": 123}]}},
        detail(**{"x-limit": 123}),
        False,
    ),
    (
        "anything-but-list",
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        detail(state="running"),
        True,
    ),
    (
        "anything-but-list-excluded",
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        detail(state="overloaded"),
        False,
    ),
    (
        "anything-but-numbers",
        {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        detail(**{"x-limit": 301.8}),
        True,
    ),
    (
        "anything-but-numbers-excluded",
        {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        detail(**{"x-limit": 200}),
        False,
    ),
    (
        "anything-but-cloudtrail",
        {"detail-type": [{"anything-but": "AWS API Call via CloudTrail"}]},
        EC2,
        True,
    ),
    ("anything-but-sources", {"source": [{"anything-but": ["aws.ec2", "aws.s3"]}]}, EC2, False),
    (
        "anything-but-prefix",
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        detail(state="running"),
        True,
    ),
    (
        "anything-but-prefix-excluded",
        {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
        detail(state="initializing"),
        False,
    ),
    (
        "anything-but-prefix-aws",
        {"source": [{"anything-but": {"prefix": "aws."}}]},
        {"source": "com.mycompany.app"},
        True,
    ),
    (
        "anything-but-suffix",
        {"FileName": [{"anything-but": {"suffix": ".png"}}]},
        {"FileName": "a.jpg"},
        True,
    ),
    (
        "anything-but-suffix-excluded",
        {"FileName": [{"anything-but": {"suffix": ".png"}}]},
        {"FileName": "a.png"},
        False,
    ),
    (
        "anything-but-ignore-case",
        {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
        {"state": "INITIALIZING"},
        False,
    ),
    (
        "anything-but-ignore-case-other",
        {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
        {"state": "running"},
        True,
    ),
    (
        "anything-but-ignore-case-list",
        {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OVERLOADED"]}}]},
        {"state": "overloaded"},
        False,
    ),
    (
        "anything-but-wildcard",
        {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"FilePath": "/usr/bin/python"},
        True,
    ),
    (
        "anything-but-wildcard-excluded",
        {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"FilePath": "/usr/lib/python"},
        False,
    ),
    (
        "anything-but-wildcard-list",
        {"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]},
        {"FilePath": "/usr/bin/python"},
        False,
    ),
    # --- numeric
    (
        "numeric-all",
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        RULER,
        True,
    ),
    (
        "numeric-range-low",
        {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}},
        detail(**{"c-count": 0}),
        False,
    ),
    (
        "numeric-range-high",
        {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}},
        detail(**{"c-count": 5.5}),
        False,
    ),
    (
        "numeric-equals",
        {"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}},
        detail(**{"x-limit": 301.8}),
        True,
    ),
    (
        "numeric-only-numbers",
        {"detail": {"d-count": [{"numeric": ["<", 10]}]}},
        detail(**{"d-count": "3"}),
        False,
    ),
    ("numeric-ge", {"detail": {"n": [{"numeric": [">=", 10]}]}}, detail(n=10), True),
    ("numeric-lt", {"detail": {"n": [{"numeric": ["<", 10]}]}}, detail(n=10), False),
    # --- cidr
    (
        "cidr-v4",
        {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        detail(sourceIPAddress="10.0.0.255"),
        True,
    ),
    (
        "cidr-v4-outside",
        {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        detail(sourceIPAddress="10.0.1.1"),
        False,
    ),
    ("cidr-ruler", {"detail": {"source-ip": [{"cidr": "10.0.0.0/8"}]}}, RULER, True),
    (
        "cidr-v6",
        {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/32"}]}},
        detail(sourceIPAddress="2001:db8:1::1"),
        True,
    ),
    (
        "cidr-v6-outside",
        {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/32"}]}},
        detail(sourceIPAddress="2001:db9::1"),
        False,
    ),
    # --- exists (leaf nodes only)
    ("exists-true", {"detail": {"state": [{"exists": True}]}}, EC2, True),
    (
        "exists-true-missing",
        {"detail": {"state": [{"exists": True}]}},
        detail(**{"c-count": {"c1": 100}}),
        False,
    ),
    (
        "exists-false",
        {"detail": {"c-count": [{"exists": False}]}},
        detail(state=["initializing", "running"]),
        True,
    ),
    (
        "exists-false-intermediate",
        {"detail": {"c-count": [{"exists": False}]}},
        detail(state="running", **{"c-count": {"c1": 100}}),
        True,
    ),
    ("exists-false-present", {"detail": {"c-count": [{"exists": False}]}}, detail(**{"c-count": 3}), False),
    ("exists-true-null", {"detail": {"responseElements": [{"exists": True}]}}, AUTOSCALING, True),
    ("exists-description", {"detail": {"description": [{"exists": True}]}}, detail(description="x"), True),
    # --- wildcard
    ("wildcard", {"source": [{"wildcard": "Simple*Service"}]}, {"source": "SimpleNotificationService"}, True),
    ("wildcard-empty-run", {"source": [{"wildcard": "Simple*Service"}]}, {"source": "SimpleService"}, True),
    ("wildcard-other", {"source": [{"wildcard": "Simple*Service"}]}, {"source": "SimpleServices"}, False),
    ("wildcard-png", {"key": [{"wildcard": "*.png"}]}, {"key": "dir/a.png"}, True),
    ("wildcard-middle", {"title": [{"wildcard": "*Title*"}]}, {"title": "The Title of it"}, True),
    (
        "wildcard-arn",
        {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
        {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/orders"},
        True,
    ),
    ("wildcard-escaped-star", {"s": [{"wildcard": "a\\*b"}]}, {"s": "a*b"}, True),
    ("wildcard-escaped-star-literal", {"s": [{"wildcard": "a\\*b"}]}, {"s": "axb"}, False),
    ("wildcard-escaped-backslash", {"s": [{"wildcard": "a\\\\b"}]}, {"s": "a\\b"}, True),
    (
        "wildcard-s3-key",
        {"detail": {"object": {"key": [{"wildcard": "incoming/*.json"}]}}},
        detail(object={"key": "incoming/run-1/a.json"}),
        True,
    ),
    # --- $or
    (
        "or-metric-or-namespace",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}],
        },
        {"source": "aws.cloudwatch", "namespace": "AWS/EC2"},
        True,
    ),
    (
        "or-neither",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}],
        },
        {"source": "aws.cloudwatch", "namespace": "AWS/RDS"},
        False,
    ),
    (
        "or-and-inside",
        {
            "source": ["aws.cloudwatch"],
            "$or": [
                {"metricName": ["CPUUtilization"]},
                {"metricType": ["MetricType"], "namespace": ["AWS/EC2"]},
                {"scope": ["Service"]},
            ],
        },
        {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2"},
        True,
    ),
    (
        "or-and-inside-partial",
        {
            "source": ["aws.cloudwatch"],
            "$or": [
                {"metricName": ["CPUUtilization"]},
                {"metricType": ["MetricType"], "namespace": ["AWS/EC2"]},
            ],
        },
        {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/ES"},
        False,
    ),
    (
        "or-nested",
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                    {"x-limit": [{"numeric": ["=", 3.018e2]}]},
                ]
            }
        },
        detail(**{"c-count": 50, "d-count": 50, "x-limit": 301.8}),
        True,
    ),
    (
        "or-parallel",
        {
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
            "detail": {
                "$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]
            },
        },
        {"namespace": "AWS/EC2", "detail": {"source": "elsewhere"}},
        False,
    ),
    (
        "or-deep",
        {
            "source": ["aws.cloudwatch"],
            "$or": [
                {"metricName": ["CPUUtilization"]},
                {"metricType": ["MetricType"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
            ],
        },
        {"source": "aws.cloudwatch", "metricType": "MetricType", "spaceId": 1000},
        True,
    ),
    # --- [ruler] complex example
    (
        "complex",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
                "source-ip": [{"cidr": "10.0.0.0/8"}],
            },
        },
        RULER,
        True,
    ),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_documented_matching(pattern, event, expected):
    assert patterns.compile(json.dumps(pattern)).matches(event) is expected
    if not isinstance(event, str):  # the same through JSON text (number literals kept)
        assert patterns.compile(json.dumps(pattern)).matches(json.dumps(event)) is expected


def test_case_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


# (pattern JSON, the reason AWS gives)
INVALID = [
    ('["a"]', "Filter is not an object"),
    ("{}", "Empty objects are not allowed"),
    ('{"source": "aws.ec2"}', '"source" must be an object or an array'),
    ('{"source": []}', "Empty arrays are not allowed"),
    ('{"detail": {}}', "Empty objects are not allowed"),
    ('{"source": [["a"]]}', "Match value must be String, number, true, false, or null"),
    ('{"source": [{"prefixx": "a"}]}', "Unrecognized match type prefixx"),
    ('{"source": [{"prefix": "a", "suffix": "b"}]}', "Only one key allowed in match expression"),
    ('{"source": [{"prefix": 1}]}', "prefix match pattern must be a string"),
    ('{"source": [{"exists": "yes"}]}', "exists match pattern must be either true or false."),
    ('{"n": [{"numeric": ">"}]}', "Value of numeric must be an array."),
    ('{"n": [{"numeric": ["!=", 1]}]}', "Unrecognized numeric range operator: !="),
    ('{"n": [{"numeric": [">", "1"]}]}', "Value of > must be numeric"),
    ('{"n": [{"numeric": ["=", 1, "<", 2]}]}', "Too many elements in numeric expression"),
    ('{"n": [{"numeric": [">", 1, ">", 2]}]}', "Bad numeric range operator: >"),
    ('{"n": [{"numeric": [">", 5, "<", 2]}]}', "Bottom must be less than top"),
    ('{"n": [{"numeric": [">", 6e9]}]}', "Value of > must be between -5.0E9 and 5.0E9 inclusive"),
    (
        '{"s": [{"anything-but": ["a", 1]}]}',
        "Inside anything but list, either all values are number or string, mixed type is not supported",
    ),
    ('{"s": [{"anything-but": [null]}]}', "Inside anything but list, start|null|boolean is not supported."),
    ('{"s": [{"anything-but": {"prefix": ""}}]}', "Null prefix/suffix not allowed"),
    ('{"s": [{"anything-but": {"numeric": [">", 1]}}]}', "Unsupported anything-but pattern: numeric"),
    (
        '{"s": [{"anything-but": true}]}',
        "Value of anything-but must be an array or single string/number value.",
    ),
    ('{"s": [{"wildcard": "a**b"}]}', "Consecutive wildcard characters at pos 2"),
    ('{"s": [{"wildcard": "a\\\\b"}]}', "Invalid escape character at pos 2"),
    ('{"s": [{"cidr": "10.0.0.0/99"}]}', "Nonsensical CIDR expression: 10.0.0.0/99"),
    ('{"$or": {"a": ["b"]}}', "It must be an Array followed with $or."),
    ('{"$or": [{"a": ["b"]}]}', "There must have at least 2 Objects in $or relationship."),
    ('{"$or": [{"a": ["b"]}, "c"]}', "Only JSON object is allowed in array of $or relationship."),
    (
        '{"$or": [{"numeric": [1]}, {"a": ["b"]}]}',
        "numeric is Ruler reserved fieldName which cannot be used inside $or.",
    ),
]


@pytest.mark.parametrize(("pattern", "reason"), INVALID, ids=[r for _, r in INVALID])
def test_invalid_patterns_are_refused_with_aws_reasons(pattern, reason):
    with pytest.raises(PatternError) as info:
        patterns.compile(pattern)
    assert info.value.reason == reason


def test_invalid_json_is_refused():
    with pytest.raises(PatternError, match="Invalid JSON"):
        patterns.compile('{"source": [')


def test_last_duplicate_key_wins():
    # [operators] "if you include a key more than once the last reference will be the one used"
    pattern = patterns.compile(
        '{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}'
    )
    assert pattern.matches(detail(location="eu-west"))
    assert not pattern.matches(detail(location="us-east"))


def test_compiled_patterns_are_cached_by_text():
    text = '{"source": ["cached"]}'
    assert patterns.compile(text) is patterns.compile(text)
