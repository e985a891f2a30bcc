"""The event patterns of the stack's EventBridge rules, read from the Terraform source, offline.

python-hcl2 parses the .tf files; this module evaluates just enough of the expression language to turn each
``event_rules`` module's ``rules`` into names, buses and patterns: string templates, references to ``var.*``
(defaults, or values given here), ``local.*``, ``each.key``/``each.value`` (for modules with ``for_each``),
``data.*`` (values given here), ``module.<m>.name`` (the ``name`` argument of module ``<m>``), and the
functions ``keys``, ``values``, ``sort``, ``join``, ``tostring``. Anything else raises ``Unsupported`` naming the
expression, so a pattern this reader cannot evaluate fails the contract tests loudly instead of being skipped.

    rules = stack_rules(environment="contract", account_id="123456789012")
    rules["sluice-contract-route-image"].pattern   # a dict, as Terraform would jsonencode it
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

STACK = Path(__file__).resolve().parents[2] / "terraform" / "stack"


class Unsupported(ValueError):
    pass


def _unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


@dataclass
class Source:
    """The blocks of one Terraform module directory."""

    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, directory: Path) -> Source:
        """Parsed once per directory and process (python-hcl2 takes a second or two for the stack)."""
        return _read(directory.resolve())

    @classmethod
    def _parse(cls, directory: Path) -> Source:
        source = cls()
        for path in sorted(directory.glob("*.tf")):
            parsed = hcl2.loads(path.read_text())
            for block in parsed.get("locals", []):
                source.locals.update({k: v for k, v in block.items() if not k.startswith("__")})
            for block in parsed.get("variable", []):
                for name, body in block.items():
                    source.variables[_unquote(name)] = body
            for block in parsed.get("module", []):
                for name, body in block.items():
                    source.modules[_unquote(name)] = body
        return source


@functools.cache
def _read(directory: Path) -> Source:
    return Source._parse(directory)


# --------------------------------------------------------------------------------------------- expressions

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
      | (?P<punct>[.,()\[\]{}]|=(?![=>]))
    )""",
    re.VERBOSE,
)


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, i = [], 0
    while i < len(expression):
        if expression[i:].strip() == "":
            break
        match = _TOKEN.match(expression, i)
        if not match:
            raise Unsupported(f"cannot read {expression!r} at {expression[i:]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))  # type: ignore[arg-type]
        i = match.end()
    return tokens


FUNCTIONS = {
    "keys": lambda m: sorted(m),
    "values": lambda m: [m[k] for k in sorted(m)],
    "sort": lambda items: sorted(items),
    "join": lambda sep, items: sep.join(items),
    "tostring": lambda value: str(value),
}


class Evaluator:
    def __init__(
        self,
        source: Source,
        variables: dict[str, Any],
        data: dict[str, Any],
        each: dict[str, Any] | None = None,
    ) -> None:
        self.source = source
        self.variables = variables
        self.data = data
        self.each = each
        self.scope: dict[str, Any] = {}  # names bound by for expressions
        self._locals: dict[str, Any] = {}

    def with_each(self, key: str, value: Any) -> Evaluator:
        evaluator = Evaluator(self.source, self.variables, self.data, {"key": key, "value": value})
        evaluator._locals = self._locals
        return evaluator

    # -- values as python-hcl2 gives them
    def value(self, raw: Any) -> Any:
        if isinstance(raw, dict):
            return {self.key(k): self.value(v) for k, v in raw.items() if not k.startswith("__")}
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        if isinstance(raw, str):
            if raw.startswith("${") and raw.endswith("}") and _balanced(raw[2:-1]):
                return self.expression(raw[2:-1])
            if len(raw) >= 2 and raw[0] == raw[-1] == '"':
                return self.template(raw[1:-1])
            return raw
        return raw

    def key(self, raw: str) -> str:
        if raw.startswith("${(") and raw.endswith(")}"):
            return str(self.expression(raw[3:-2]))
        return str(self.value(raw)) if raw.startswith(("${", '"')) else raw

    def template(self, body: str) -> str:
        out, i = [], 0
        while i < len(body):
            if body.startswith("${", i):
                end = _closing(body, i + 2)
                out.append(str(self.expression(body[i + 2 : end])))
                i = end + 1
            elif body[i] == "\\" and i + 1 < len(body):
                out.append({"n": "\n", "t": "\t"}.get(body[i + 1], body[i + 1]))
                i += 2
            else:
                out.append(body[i])
                i += 1
        return "".join(out)

    # -- expressions
    def expression(self, text: str) -> Any:
        stripped = text.strip()
        if stripped[:1] in "{[" and re.match(r"^[{\[]\s*for\s", stripped):
            return self.for_expression(stripped)
        tokens = _tokens(text)
        value, rest = self._parse(tokens)
        if rest:
            raise Unsupported(f"unsupported expression {text!r}")
        return value

    def _parse(self, tokens: list[tuple[str, str]]) -> tuple[Any, list[tuple[str, str]]]:
        if not tokens:
            raise Unsupported("empty expression")
        kind, text = tokens[0]
        rest = tokens[1:]
        if kind == "number":
            return (float(text) if any(c in text for c in ".eE") else int(text)), rest
        if kind == "string":
            return self.template(text[1:-1]), rest
        if kind == "punct" and text == "(":
            value, rest = self._parse(rest)
            if not rest or rest[0] != ("punct", ")"):
                raise Unsupported("unbalanced parentheses")
            return value, rest[1:]
        if kind == "punct" and text == "[":  # a tuple literal: [a, b, ...]
            items: list[Any] = []
            while rest and rest[0] != ("punct", "]"):
                item, rest = self._parse(rest)
                items.append(item)
                if rest and rest[0] == ("punct", ","):
                    rest = rest[1:]
            if not rest:
                raise Unsupported("unbalanced brackets")
            return items, rest[1:]
        if kind == "punct" and text == "{":  # an object literal: {key = value, "key" = value, ...}
            obj: dict[str, Any] = {}
            while rest and rest[0] != ("punct", "}"):
                (key_kind, key_text), rest = rest[0], rest[1:]
                if not rest or rest[0] != ("punct", "="):
                    raise Unsupported(f"object key {key_text!r} without '='")
                value, rest = self._parse(rest[1:])
                obj[self.template(key_text[1:-1]) if key_kind == "string" else key_text] = value
                if rest and rest[0] == ("punct", ","):
                    rest = rest[1:]
            if not rest:
                raise Unsupported("unbalanced braces")
            return obj, rest[1:]
        if kind != "name":
            raise Unsupported(f"unexpected {text!r}")
        if rest and rest[0] == ("punct", "("):
            if text not in FUNCTIONS:
                raise Unsupported(f"function {text}() is not supported")
            args, rest = [], rest[1:]
            while rest and rest[0] != ("punct", ")"):
                arg, rest = self._parse(rest)
                args.append(arg)
                if rest and rest[0] == ("punct", ","):
                    rest = rest[1:]
            return FUNCTIONS[text](*args), rest[1:]
        path = [text]
        while rest and rest[0] in (("punct", "."), ("punct", "[")):
            if rest[0] == ("punct", "."):
                path.append(rest[1][1])
                rest = rest[2:]
            else:
                index, rest = self._parse(rest[1:])
                path.append(index)
                rest = rest[1:]  # ]
        if text in ("true", "false", "null") and len(path) == 1:
            return {"true": True, "false": False, "null": None}[text], rest
        return self.reference(path), rest

    def for_expression(self, text: str) -> Any:
        """``{for k[, v] in X : K => V}`` and ``[for v in X : V]`` (no ``if`` clause, no grouping)."""
        is_map = text[0] == "{"
        body = text[1:-1].strip()[len("for") :]
        header, _, result = _split_top(body, ":")
        names, _, collection = header.partition(" in ")
        variables = [n.strip() for n in names.split(",")]
        items = self.expression(collection)
        pairs = sorted(items.items()) if isinstance(items, dict) else list(enumerate(items))
        out_map: dict[str, Any] = {}
        out_list: list[Any] = []
        for key, value in pairs:
            bound = (
                {variables[0]: value}
                if len(variables) == 1 and not isinstance(items, dict)
                else {variables[0]: key}
            )
            if len(variables) == 2:
                bound = {variables[0]: key, variables[1]: value}
            scoped = Evaluator(self.source, self.variables, self.data, self.each)
            scoped._locals = self._locals
            scoped.scope = {**self.scope, **bound}
            if is_map:
                key_text, _, value_text = _split_top(result, "=>")
                out_map[str(scoped.expression(key_text))] = scoped.expression(value_text)
            else:
                out_list.append(scoped.expression(result))
        return out_map if is_map else out_list

    def reference(self, path: list[Any]) -> Any:
        root = path[0]
        if root in self.scope:
            return _walk(self.scope[root], path[1:], path)
        if root == "var":
            value = self.variables[path[1]] if path[1] in self.variables else self._default(path[1])
            return _walk(value, path[2:], path)
        if root == "local":
            return _walk(self.local(path[1]), path[2:], path)
        if root == "each":
            if self.each is None:
                raise Unsupported("each.* outside a for_each module")
            return _walk(self.each, path[1:], path)
        if root == "data":
            return _walk(self.data, path[1:], path)
        if root == "module" and len(path) == 3 and path[2] == "name":
            return self.value(self.source.modules[path[1]]["name"])
        raise Unsupported(f"reference {'.'.join(map(str, path))} is not supported")

    def local(self, name: str) -> Any:
        if name not in self._locals:
            if name not in self.source.locals:
                raise Unsupported(f"no local {name}")
            self._locals[name] = self.value(self.source.locals[name])
        return self._locals[name]

    def _default(self, name: str) -> Any:
        variable = self.source.variables.get(name)
        if variable is None or "default" not in variable:
            raise Unsupported(f"var.{name} has no default: give a value")
        return self.value(variable["default"])


def _walk(value: Any, path: list[Any], full: list[Any]) -> Any:
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            raise Unsupported(f"{'.'.join(map(str, full))}: no {part!r}") from None
    return value


def _closing(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        elif text[i] == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        i += 1
    raise Unsupported(f"unterminated interpolation in {text!r}")


def _split_top(text: str, separator: str) -> tuple[str, str, str]:
    """Split at the first ``separator`` outside strings and brackets."""
    depth = 0
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                if text.startswith("${", i):
                    i = _closing(text, i + 2)
                elif text[i] == "\\":
                    i += 1
                i += 1
        elif char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        elif depth == 0 and text.startswith(separator, i):
            return text[:i], separator, text[i + len(separator) :]
        i += 1
    raise Unsupported(f"no {separator!r} in {text!r}")


def _balanced(text: str) -> bool:
    try:
        return _closing("{" + text + "}", 1) == len(text) + 1
    except Unsupported:
        return False


# --------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    name: str
    module: str
    bus: str
    pattern: dict[str, Any]


def stack_rules(
    *,
    environment: str = "contract",
    account_id: str = "123456789012",
    variables: dict[str, Any] | None = None,
) -> dict[str, Rule]:
    """Every rule with an event pattern in the stack, by rule name."""
    source = Source.read(STACK)
    data = {
        "aws_caller_identity": {"current": {"account_id": account_id}},
        "aws_partition": {"current": {"partition": "aws"}},
        "aws_region": {"current": {"name": "us-east-1"}},
    }
    evaluator = Evaluator(source, {"environment": environment, **(variables or {})}, data)
    bus_names = {"${aws_cloudwatch_event_bus.domain.name}": f"sluice-{environment}-domain"}
    rules: dict[str, Rule] = {}
    for module_name, body in source.modules.items():
        if _unquote(body.get("source", "")) != "../modules/event_rules":
            continue
        instances: list[Evaluator] = [evaluator]
        if "for_each" in body:
            for_each = evaluator.value(body["for_each"])
            instances = [evaluator.with_each(k, v) for k, v in sorted(for_each.items())]
        for instance in instances:
            for raw_name, rule in body["rules"].items():
                if "event_pattern" not in rule:
                    continue
                name = instance.key(raw_name)
                bus_raw = rule.get("event_bus_name", '"default"')
                bus = bus_names.get(bus_raw) or instance.value(bus_raw)
                rules[name] = Rule(
                    name=name, module=module_name, bus=bus, pattern=instance.value(rule["event_pattern"])
                )
    return rules
