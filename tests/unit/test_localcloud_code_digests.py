"""The local Lambda runtime hashes each code zip once per bytes object (spec_for runs on every invocation)."""

from __future__ import annotations

import hashlib

from localcloud.runtime.service import CodeDigests


def test_a_zip_is_hashed_once_and_new_code_is_hashed_again() -> None:
    digests = CodeDigests()
    layer = bytes(range(256)) * 1000
    assert digests(layer) == hashlib.sha256(layer).hexdigest()
    assert digests(layer) == hashlib.sha256(layer).hexdigest()
    assert digests.computed == 1
    updated = layer + b"new code"  # UpdateFunctionCode / a new layer version: a new bytes object
    assert digests(updated) == hashlib.sha256(updated).hexdigest()
    assert digests.computed == 2


def test_equal_bytes_in_another_object_give_the_same_digest_and_the_cache_is_bounded() -> None:
    digests = CodeDigests(size=2)
    codes = [b"a" * 10 + bytes([i]) for i in range(3)]
    for code in codes:
        digests(code)
    assert digests.computed == 3
    digests(codes[0])  # evicted (least recently used): hashed again
    assert digests.computed == 4
    copy = bytes(bytearray(codes[2]))
    assert copy is not codes[2]
    assert digests(copy) == hashlib.sha256(codes[2]).hexdigest()
