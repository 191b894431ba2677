"""scanner.fastjson must write what json.dumps(ensure_ascii=False, compact) writes, and read what it reads."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import fastjson

_JSONABLE = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def _reference(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=500, deadline=None)
@given(_JSONABLE)
def test_dumps_is_the_json_modules_compact_text(obj: object) -> None:
    # st.text() draws lone surrogates, controls, U+2028, non-BMP characters and big integers:
    # the shapes where encoders differ (orjson refuses the first and the last: the fallback writes them).
    assert fastjson.dumps(obj) == _reference(obj)
    assert fastjson.loads(fastjson.dumps_bytes(obj)) == obj


@pytest.mark.parametrize("text", ['{"a":"\\ud800"}', '["\\u2028\\u001b\\/"]', "[1,2]", '"x"', "[-9223372036854775809, 18446744073709551616]"])
def test_loads_reads_what_the_json_module_reads(text: str) -> None:
    assert fastjson.loads(text.encode()) == json.loads(text)


def test_loads_refuses_what_is_not_json() -> None:
    with pytest.raises(ValueError):
        fastjson.loads(b"{not json")
