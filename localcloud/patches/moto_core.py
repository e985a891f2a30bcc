"""moto's request routing, made cheaper where moto recomputes constants on every request (measured with py-spy
--gil under the ingest pipeline's load):

- `list_of_moto_modules` lists moto's package folder on disk (os.listdir + ~60 stat calls, ~1 ms of a 1.3 ms
  DynamoDB call);
- `method_names_from_class` runs inspect.getmembers over the response class (~3% of server CPU).
Neither result changes while the server runs.
- `BackendDict.__getitem__` (every `<service>_backends[account]` lookup, several per request and per delivery)
  checks that the dict is registered by scanning the list of every registered BackendDict with a Python-level
  `__eq__` (and `__len__` for its truthiness): ~6% of server CPU under the stream benchmark (py-spy --gil). An
  account already present was registered when it was added, and `BackendDict.reset` empties both together, so
  a present account is returned as a plain dict lookup.
- werkzeug's URL matching (`StateMachineMatcher.match`, every request through moto's per-service Flask apps)
  walked the rule tree and its regex converters again for every request: ~9 % of server CPU while document
  workflows ran (py-spy --gil), 0.5 ms a request. A matcher's answer depends only on its rules and
  (host, path, method, websocket), so successful matches are remembered per matcher (dropped when a rule is
  added; bounded, since S3 object paths rarely repeat); redirects and misses raise and are never remembered.
"""

from __future__ import annotations

import functools
from typing import Any

ROUTES_REMEMBERED = 4096  # per matcher; the whole memory is dropped when full


def install() -> None:
    _install_route_memory()
    import moto.backends as backends
    from moto.core import responses

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: iter(modules)

    cached = functools.cache(responses.method_names_from_class)
    responses.method_names_from_class = cached

    from moto.core.base_backend import BackendDict

    getitem = BackendDict.__getitem__
    if getattr(getitem, "_localcloud_fast", False):
        return

    def backend_for_account(self: Any, account_id: str) -> Any:
        found = dict.get(self, account_id)
        return found if found is not None else getitem(self, account_id)

    backend_for_account._localcloud_fast = True  # type: ignore[attr-defined]
    BackendDict.__getitem__ = backend_for_account  # type: ignore[method-assign]


def _install_route_memory() -> None:
    from werkzeug.routing.matcher import StateMachineMatcher

    if getattr(StateMachineMatcher.match, "_localcloud_fast", False):
        return
    original_match, original_add = StateMachineMatcher.match, StateMachineMatcher.add

    def match(self: Any, domain: str, path: str, method: str, websocket: bool) -> Any:
        memory = self.__dict__.get("_localcloud_routes")
        if memory is None:  # not setdefault: that would build a dict at every request
            memory = self.__dict__.setdefault("_localcloud_routes", {})
        key = (domain, path, method, websocket)
        found = memory.get(key)
        if found is None:
            found = original_match(self, domain, path, method, websocket)  # a miss or a redirect raises
            if len(memory) >= ROUTES_REMEMBERED:
                memory.clear()
            memory[key] = found
        rule, values = found
        return rule, dict(values)  # the caller's own copy of the converted values

    def add(self: Any, rule: Any) -> None:
        self.__dict__.pop("_localcloud_routes", None)
        original_add(self, rule)

    match._localcloud_fast = True  # type: ignore[attr-defined]
    StateMachineMatcher.match = match  # type: ignore[method-assign]
    StateMachineMatcher.add = add  # type: ignore[method-assign]
