"""Compact JSON through orjson (several times faster than the json module's C encoder on reports of
thousands of findings), falling back to the json module for the values orjson refuses.

``dumps`` gives exactly ``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))`` for the data
the tool writes (str, int, bool, None, lists and dicts with str keys: reports and the cache hold no
floats); tests/test_fastjson.py compares the two on the shapes that differ elsewhere.
"""

from __future__ import annotations

import json
from typing import Any, Union

import orjson

# What the fallbacks catch: a lone surrogate (orjson encodes only valid UTF-8), an integer past
# 64 bits, a key that is not a string.
_REFUSED = (TypeError, orjson.JSONEncodeError)


def dumps(obj: Any) -> str:
    try:
        return orjson.dumps(obj).decode("utf-8")
    except _REFUSED:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def dumps_bytes(obj: Any) -> bytes:
    """UTF-8 bytes of ``dumps`` (surrogates, when the fallback kept any, escaped as \\uXXXX)."""
    try:
        return orjson.dumps(obj)
    except _REFUSED:
        return json.dumps(obj, separators=(",", ":")).encode("ascii")


def loads(data: Union[bytes, str]) -> Any:
    """The json module's reader: orjson reads an integer past 64 bits as a float, silently."""
    return json.loads(data)
