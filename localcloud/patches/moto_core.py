"""moto's request routing, made cheaper where moto recomputes constants on every request (measured with py-spy
--gil under the ingest pipeline's load):

- `list_of_moto_modules` lists moto's package folder on disk (os.listdir + ~60 stat calls, ~1 ms of a 1.3 ms
  DynamoDB call);
- `method_names_from_class` runs inspect.getmembers over the response class (~3% of server CPU).
Neither result changes while the server runs.
"""

from __future__ import annotations

import functools


def install() -> None:
    import moto.backends as backends
    from moto.core import responses

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: iter(modules)

    cached = functools.cache(responses.method_names_from_class)
    responses.method_names_from_class = cached
