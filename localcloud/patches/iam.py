"""Policy conditions evaluated the way AWS does, for the requests the local cloud sees.

moto evaluates bucket policies with no request context, supports only StringEquals (every other operator is
"ignored", i.e. satisfied) and returns DENIED for any statement whose conditions fail, Allow or Deny alike. With
the standard TLS-only bucket policy ("Deny s3:* when Bool aws:SecureTransport is false") every request was
denied. Here (hand-written: moto has no condition engine to extend):
- the request context holds aws:SecureTransport = "true": the local cloud is a loopback endpoint, and the policy
  exists to reject plain HTTP on the internet;
- the common operators are evaluated (String*, Arn*, Bool, Null, ...IfExists); a key absent from the context
  does not match, as in AWS; an operator we do not know makes the statement not apply;
- a statement whose conditions do not match does not apply (NEUTRAL).
"""

from __future__ import annotations

import fnmatch
from typing import Any

LOCAL_CONTEXT = {"aws:SecureTransport": "true"}


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


_OPERATORS = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringNotEquals": lambda expected, actual: actual != expected,
    "StringEqualsIgnoreCase": lambda expected, actual: actual.lower() == expected.lower(),
    "StringNotEqualsIgnoreCase": lambda expected, actual: actual.lower() != expected.lower(),
    "StringLike": lambda expected, actual: _like(expected, actual),
    "StringNotLike": lambda expected, actual: not _like(expected, actual),
    "ArnEquals": lambda expected, actual: actual == expected,
    "ArnNotEquals": lambda expected, actual: actual != expected,
    "ArnLike": lambda expected, actual: _like(expected, actual),
    "ArnNotLike": lambda expected, actual: not _like(expected, actual),
    "Bool": lambda expected, actual: actual.lower() == str(expected).lower(),
}
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def conditions_match(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, pairs in conditions.items():
        base = operator.removesuffix("IfExists")
        for key, expected in pairs.items():
            values = expected if isinstance(expected, list) else [expected]
            actual = context.get(key)
            if base == "Null":
                if (actual is None) != (str(values[0]).lower() == "true"):
                    return False
                continue
            if actual is None:
                if operator.endswith("IfExists"):
                    continue
                return False
            check = _OPERATORS.get(base)
            if check is None:
                return False
            results = [check(str(v), actual) for v in values]
            if not (all(results) if base in _NEGATED else any(results)):
                return False
    return True


def install() -> None:
    from moto.iam import access_control
    from moto.iam.access_control import PermissionResult

    original = access_control.IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> PermissionResult:
        conditions = self._statement.get("Condition")
        if conditions:
            if not conditions_match(conditions, {**LOCAL_CONTEXT, **(incoming_condition_values or {})}):
                return PermissionResult.NEUTRAL
            statement = {k: v for k, v in self._statement.items() if k != "Condition"}
            return original(access_control.IAMPolicyStatement(statement), action, resource, principal, None)
        return original(self, action, resource, principal, incoming_condition_values)

    access_control.IAMPolicyStatement.is_action_permitted = is_action_permitted
