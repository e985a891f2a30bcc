"""Benchmarks: each module measures one thing, prints figures and ratios, and writes bench/results/<name>.json.
Absolute times vary between machines; every figure that matters is also given as a ratio to a baseline measured
in the same run. Nothing here is asserted by the tests."""
