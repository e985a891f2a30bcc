"""EventBridge event patterns: validation and matching with AWS's documented semantics.

One matcher for everything the local cloud filters: EventBridge rules (and archives), SQS event source mapping
FilterCriteria, and the TestEventPattern API. moto's own matcher flattens the event into dotted keys, so it
cannot match arrays of objects, treats a nested object as "existing", and its server answers TestEventPattern
with an empty body.

    pattern = patterns.compile('{"detail": {"size": [{"numeric": [">", 0]}]}}')   # PatternError if invalid
    pattern.matches(event)                                                         # event: dict or JSON text

Semantics (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html and the pages it
links; aws/event-ruler, the open-source engine behind EventBridge, where the documentation is silent):

* a pattern is an object; every field it names must match (AND), a field's array of values matches if any
  value matches (OR); fields the pattern does not name are ignored;
* nested objects match nested objects; where the event holds an array of objects, the nested pattern must
  match one element as a whole (two fields are never matched in different elements of the same array);
* where the event holds an array of values, the field matches if any element matches;
* exact values: strings character by character, ``true``/``false``/``null`` as themselves, numbers by their
  JSON text (300, 300.0 and 3.0e2 are different values to an exact match);
* ``prefix`` / ``suffix`` (optionally ``{"equals-ignore-case": ...}``), ``equals-ignore-case``, ``wildcard``
  (``*`` for any run of characters, ``\\*`` for a literal asterisk, ``\\\\`` for a backslash): strings only;
* ``anything-but`` with a string, a number, a list of strings or of numbers, or a ``prefix``, ``suffix``,
  ``equals-ignore-case`` or ``wildcard``: matches a present value that the inner matcher does not match;
* ``numeric`` with ``=``, or a lower bound (``>``/``>=``) and/or an upper bound (``<``/``<=``): JSON numbers only;
* ``cidr``: IPv4 or IPv6 address strings inside the block;
* ``exists``: on leaf values only: ``true`` if the field holds a value (``null`` included), ``false`` if it is
  missing or holds no value (an object, an empty array);
* ``$or``: an array of at least two objects, any of which must match, at any level.

Invalid patterns raise ``PatternError`` whose ``reason`` reads like AWS's ``InvalidEventPatternException``.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["MISSING", "Pattern", "PatternError", "compile", "loads", "matches"]

OR = "$or"
NUMERIC_LIMIT = 5.0e9
# Match-expression names; none may be a field name inside $or (event-ruler's reserved names).
MATCH_TYPES = ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr")


class PatternError(ValueError):
    """The pattern is not valid; ``reason`` is the text AWS puts after "Event pattern is not valid. Reason: "."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# --------------------------------------------------------------------------------------------- JSON numbers
# Exact matching compares numbers by their JSON text, so events and patterns parsed here keep it.


class JsonInt(int):
    text: str

    def __new__(cls, text: str) -> JsonInt:
        value = super().__new__(cls, text)
        value.text = text
        return value


class JsonFloat(float):
    text: str

    def __new__(cls, text: str) -> JsonFloat:
        value = super().__new__(cls, text)
        value.text = text
        return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str | bytes) -> Any:
    """``json.loads`` that remembers each number's literal text (for exact number matching)."""
    return json.loads(text, parse_int=JsonInt, parse_float=JsonFloat, parse_constant=_reject_constant)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_text(value: Any) -> str:
    text = getattr(value, "text", None)
    if text is not None:
        return str(text)
    return str(value) if isinstance(value, int) else repr(float(value))


# --------------------------------------------------------------------------------------------- matchers
# A matcher takes one leaf value of the event (a string, number, bool or None) and says whether it matches.

Matcher = Callable[[Any], bool]


def _exact(expected: Any) -> Matcher:
    if expected is None:
        return lambda value: value is None
    if isinstance(expected, bool):
        return lambda value: isinstance(value, bool) and value is expected
    if _is_number(expected):
        text = _number_text(expected)
        return lambda value: _is_number(value) and _number_text(value) == text
    # A string that is an IP address matches the same address written differently (event-ruler normalises).
    try:
        address = ipaddress.ip_address(expected)
    except ValueError:
        return lambda value: isinstance(value, str) and value == expected

    def same_address(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if value == expected:
            return True
        try:
            return ipaddress.ip_address(value) == address
        except ValueError:
            return False

    return same_address


def _lower(text: str) -> str:
    return text.lower()


def _wildcard_regex(pattern: str, *, where: str = "wildcard") -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    previous_star = False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            following = pattern[i + 1] if i + 1 < len(pattern) else ""
            if following not in ("*", "\\"):
                raise PatternError(f"Invalid escape character at pos {i + 1}")
            parts.append(re.escape(following))
            i += 2
            previous_star = False
            continue
        if char == "*":
            if previous_star:
                raise PatternError(f"Consecutive wildcard characters at pos {i}")
            parts.append(".*")
            previous_star = True
        else:
            parts.append(re.escape(char))
            previous_star = False
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def _string_operand(name: str, value: Any) -> tuple[str, bool]:
    """The string of a prefix/suffix expression and whether it ignores case."""
    if isinstance(value, str):
        return value, False
    if isinstance(value, dict) and list(value) == ["equals-ignore-case"]:
        inner = value["equals-ignore-case"]
        if not isinstance(inner, str):
            raise PatternError("equals-ignore-case match pattern must be a string")
        return inner, True
    raise PatternError(f"{name} match pattern must be a string")


def _prefix(value: Any) -> Matcher:
    text, ignore_case = _string_operand("prefix", value)
    if ignore_case:
        folded = _lower(text)
        return lambda v: isinstance(v, str) and _lower(v).startswith(folded)
    return lambda v: isinstance(v, str) and v.startswith(text)


def _suffix(value: Any) -> Matcher:
    text, ignore_case = _string_operand("suffix", value)
    if ignore_case:
        folded = _lower(text)
        return lambda v: isinstance(v, str) and _lower(v).endswith(folded)
    return lambda v: isinstance(v, str) and v.endswith(text)


def _equals_ignore_case(value: Any) -> Matcher:
    if not isinstance(value, str):
        raise PatternError("equals-ignore-case match pattern must be a string")
    folded = _lower(value)
    return lambda v: isinstance(v, str) and _lower(v) == folded


def _wildcard(value: Any) -> Matcher:
    if not isinstance(value, str):
        raise PatternError("wildcard match pattern must be a string")
    regex = _wildcard_regex(value)
    return lambda v: isinstance(v, str) and regex.fullmatch(v) is not None


def _cidr(value: Any) -> Matcher:
    if not isinstance(value, str):
        raise PatternError("cidr match pattern must be a string")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PatternError(f"Nonsensical CIDR expression: {value}") from None

    def inside(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        try:
            address = ipaddress.ip_address(v)
        except ValueError:
            return False
        return address.version == network.version and address in network

    return inside


def _numeric_operand(operator: str, value: Any) -> float:
    if not _is_number(value):
        raise PatternError(f"Value of {operator} must be numeric")
    number = float(value)
    if not math.isfinite(number) or not -NUMERIC_LIMIT <= number <= NUMERIC_LIMIT:
        raise PatternError(f"Value of {operator} must be between -5.0E9 and 5.0E9 inclusive")
    return number


def _numeric(value: Any) -> Matcher:
    if not isinstance(value, list):
        raise PatternError("Value of numeric must be an array.")
    if not value or not isinstance(value[0], str):
        raise PatternError(f"Invalid member in numeric match: {json.dumps(value[0]) if value else ']'}")
    operator = value[0]
    if operator not in ("=", "<", "<=", ">", ">="):
        raise PatternError(f"Unrecognized numeric range operator: {operator}")
    if len(value) < 2:
        raise PatternError(f"Value of {operator} must be numeric")
    first = _numeric_operand(operator, value[1])
    if operator == "=":
        if len(value) > 2:
            raise PatternError("Too many elements in numeric expression")
        return lambda v: _is_number(v) and float(v) == first
    if operator in ("<", "<="):
        if len(value) > 2:
            raise PatternError("Too many elements in numeric expression")
        inclusive = operator == "<="
        return lambda v: _is_number(v) and (float(v) <= first if inclusive else float(v) < first)
    # A lower bound, optionally followed by an upper bound.
    low_inclusive = operator == ">="
    if len(value) == 2:
        return lambda v: _is_number(v) and (float(v) >= first if low_inclusive else float(v) > first)
    if not isinstance(value[2], str):
        raise PatternError(f"Bad value in numeric range: {json.dumps(value[2])}")
    upper = value[2]
    if upper not in ("<", "<="):
        raise PatternError(f"Bad numeric range operator: {upper}")
    if len(value) < 4:
        raise PatternError(f"Value of {upper} must be numeric")
    top = _numeric_operand(upper, value[3])
    if len(value) > 4:
        raise PatternError("Too many terms in numeric range expression")
    if top <= first:
        raise PatternError("Bottom must be less than top")
    high_inclusive = upper == "<="

    def within(v: Any) -> bool:
        if not _is_number(v):
            return False
        number = float(v)
        above = number >= first if low_inclusive else number > first
        below = number <= top if high_inclusive else number < top
        return above and below

    return within


def _anything_but(value: Any) -> Matcher:
    inner: Matcher
    if isinstance(value, dict):
        if len(value) != 1:
            raise PatternError("Only one key allowed in match expression")
        (name, operand), = value.items()
        if name in ("prefix", "suffix"):
            if not isinstance(operand, str):
                raise PatternError("prefix/suffix match pattern must be a string")
            if not operand:
                raise PatternError("Null prefix/suffix not allowed")
            inner = _prefix(operand) if name == "prefix" else _suffix(operand)
        elif name in ("equals-ignore-case", "wildcard"):
            operands = operand if isinstance(operand, list) else [operand]
            if not operands or not all(isinstance(o, str) for o in operands):
                raise PatternError(f"Inside anything-but/{name} list, number|start|null|boolean is not supported.")
            build = _equals_ignore_case if name == "equals-ignore-case" else _wildcard
            matchers = [build(o) for o in operands]
            inner = lambda v: any(m(v) for m in matchers)  # noqa: E731
        else:
            raise PatternError(f"Unsupported anything-but pattern: {name}")
    elif isinstance(value, list):
        if not value or not all(isinstance(v, str) or _is_number(v) for v in value):
            raise PatternError("Inside anything but list, start|null|boolean is not supported.")
        if any(isinstance(v, str) for v in value) and any(_is_number(v) for v in value):
            raise PatternError(
                "Inside anything but list, either all values are number or string, mixed type is not supported"
            )
        inner = _excluded_values(value)
    elif isinstance(value, str) or _is_number(value):
        inner = _excluded_values([value])
    else:
        raise PatternError("Value of anything-but must be an array or single string/number value.")
    return lambda v: not inner(v)


def _excluded_values(values: list[Any]) -> Matcher:
    # Excluded numbers compare by value (event-ruler stores them in comparable form), strings exactly.
    strings = {v for v in values if isinstance(v, str)}
    numbers = {float(v) for v in values if _is_number(v)}
    return lambda v: (isinstance(v, str) and v in strings) or (_is_number(v) and float(v) in numbers)


_BUILDERS: dict[str, Callable[[Any], Matcher]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "cidr": _cidr,
}


# --------------------------------------------------------------------------------------------- the pattern tree


@dataclass(frozen=True)
class _Leaf:
    matchers: tuple[Matcher, ...]
    exists: tuple[bool, ...]  # {"exists": true|false} entries, in order


@dataclass(frozen=True)
class _Object:
    fields: tuple[tuple[str, _Leaf | _Object], ...]
    alternatives: tuple[tuple[_Object, ...], ...]  # each $or: one of these must match


def _compile_leaf(name: str, values: list[Any]) -> _Leaf:
    if not values:
        raise PatternError("Empty arrays are not allowed")
    matchers: list[Matcher] = []
    exists: list[bool] = []
    for value in values:
        if isinstance(value, dict):
            if not value:
                raise PatternError("Match expression name not found")
            if len(value) != 1:
                raise PatternError("Only one key allowed in match expression")
            (kind, operand), = value.items()
            if kind == "exists":
                if not isinstance(operand, bool):
                    raise PatternError("exists match pattern must be either true or false.")
                exists.append(operand)
            elif kind in _BUILDERS:
                matchers.append(_BUILDERS[kind](operand))
            else:
                raise PatternError(f"Unrecognized match type {kind}")
        elif isinstance(value, list):
            raise PatternError("Match value must be String, number, true, false, or null")
        else:
            matchers.append(_exact(value))
    return _Leaf(tuple(matchers), tuple(exists))


def _compile_object(pattern: dict[str, Any], *, inside_or: bool = False) -> _Object:
    if not pattern:
        raise PatternError("Empty objects are not allowed")
    fields: list[tuple[str, _Leaf | _Object]] = []
    alternatives: list[tuple[_Object, ...]] = []
    for name, value in pattern.items():
        if name == OR:
            if not isinstance(value, list):
                raise PatternError("It must be an Array followed with $or.")
            if not all(isinstance(branch, dict) for branch in value):
                raise PatternError("Only JSON object is allowed in array of $or relationship.")
            if len(value) < 2:
                raise PatternError("There must have at least 2 Objects in $or relationship.")
            alternatives.append(tuple(_compile_object(branch, inside_or=True) for branch in value))
            continue
        if inside_or and name in MATCH_TYPES:
            raise PatternError(f"{name} is Ruler reserved fieldName which cannot be used inside $or.")
        if isinstance(value, dict):
            fields.append((name, _compile_object(value, inside_or=inside_or)))
        elif isinstance(value, list):
            fields.append((name, _compile_leaf(name, value)))
        else:
            raise PatternError(f'"{name}" must be an object or an array')
    return _Object(tuple(fields), tuple(alternatives))


# --------------------------------------------------------------------------------------------- matching


def _leaf_values(value: Any) -> Iterator[Any]:
    """The leaf values a field holds: itself, or the scalars of an array (nested arrays flattened)."""
    if value is MISSING or isinstance(value, dict):
        return
    if isinstance(value, list):
        for element in value:
            yield from _leaf_values(element)
        return
    yield value


def _match_leaf(leaf: _Leaf, value: Any) -> bool:
    values = list(_leaf_values(value))
    for wanted in leaf.exists:
        if wanted == bool(values):
            return True
    return any(matcher(v) for matcher in leaf.matchers for v in values)


def _elements(value: list[Any]) -> Iterator[Any]:
    for element in value:
        if isinstance(element, list):
            yield from _elements(element)
        else:
            yield element


def _match_object(node: _Object, value: Any) -> bool:
    if isinstance(value, list):
        elements = list(_elements(value))
        if elements:
            # Array-consistent: the whole sub-pattern must match within one element.
            return any(_match_object(node, element) for element in elements)
        value = MISSING
    fields = value if isinstance(value, dict) else {}
    for name, child in node.fields:
        child_value = fields.get(name, MISSING)
        if isinstance(child, _Leaf):
            if not _match_leaf(child, child_value):
                return False
        elif not _match_object(child, child_value):
            return False
    return all(any(_match_object(branch, value) for branch in group) for group in node.alternatives)


class Pattern:
    """A validated event pattern."""

    def __init__(self, source: str, tree: _Object) -> None:
        self.source = source
        self._tree = tree

    def matches(self, event: Any) -> bool:
        """Does ``event`` (a dict, or its JSON text) match? JSON text keeps number literals for exact matching."""
        if isinstance(event, (str, bytes)):
            event = loads(event)
        return _match_object(self._tree, event)

    def __repr__(self) -> str:
        return f"Pattern({self.source})"


def _parse(pattern: str | bytes | dict[str, Any]) -> tuple[str, Any]:
    if isinstance(pattern, dict):
        return json.dumps(pattern, sort_keys=True), pattern
    try:
        return (pattern.decode() if isinstance(pattern, bytes) else pattern), loads(pattern)
    except (ValueError, RecursionError) as exc:
        raise PatternError(f"Invalid JSON: {exc}") from None


@functools.lru_cache(maxsize=2048)
def _compile_text(text: str) -> Pattern:
    _, parsed = _parse(text)
    return _build(text, parsed)


def _build(source: str, parsed: Any) -> Pattern:
    if not isinstance(parsed, dict):
        raise PatternError("Filter is not an object")
    return Pattern(source, _compile_object(parsed))


def compile(pattern: str | bytes | dict[str, Any]) -> Pattern:  # the module's verb, like re.compile
    """Validate and compile ``pattern`` (JSON text or a dict); raises PatternError. JSON text is cached."""
    if isinstance(pattern, (str, bytes)):
        return _compile_text(pattern.decode() if isinstance(pattern, bytes) else pattern)
    source, parsed = _parse(pattern)
    return _build(source, parsed)


def matches(pattern: str | bytes | dict[str, Any], event: Any) -> bool:
    return compile(pattern).matches(event)
