"""moto's request routing: `list_of_moto_modules` lists moto's package folder on disk for every request
(os.listdir plus ~60 stat calls, ~1 ms of a 1.3 ms DynamoDB call). The folder does not change while we run."""

from __future__ import annotations


def install() -> None:
    import moto.backends as backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: iter(modules)
