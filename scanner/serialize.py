"""Dataclasses to plain JSON data and back, driven by type hints (for the content cache).

Reading back is compiled once per type into a converter function, because a warm re-scan
rebuilds every cached finding and a generic walk of the type hints per value is the slow part.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import lru_cache
from typing import Any, Callable, Union

Converter = Callable[[Any], Any]


def to_data(obj: Any) -> Any:
    """A JSON-compatible copy of a dataclass tree (enums become their values, tuples lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_data(v) for k, v in obj.items()}
    return obj


def from_data(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` from ``to_data`` output; raises TypeError/ValueError on a mismatch."""
    return _converter(tp)(data)


def _fail(expected: str, data: Any) -> TypeError:
    return TypeError(f"expected {expected}, got {type(data).__name__}")


@lru_cache(maxsize=None)
def _converter(tp: Any) -> Converter:  # noqa: C901 - one branch per kind of type
    origin = typing.get_origin(tp)
    if tp is Any or tp is object:
        return lambda data: data
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(members) < len(typing.get_args(tp))
        converters = [_converter(a) for a in members]

        def union(data: Any) -> Any:
            if data is None and optional:
                return None
            errors = []
            for convert in converters:
                try:
                    return convert(data)
                except (TypeError, ValueError, KeyError) as exc:
                    errors.append(exc)
            raise TypeError(f"no member of {tp} fits {data!r}: {errors}")

        return union
    if origin is list:
        (item_t,) = typing.get_args(tp) or (Any,)
        item = _converter(item_t)

        def as_list(data: Any) -> Any:
            if not isinstance(data, list):
                raise _fail("list", data)
            return [item(v) for v in data]

        return as_list
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            element = _converter(args[0])

            def as_tuple(data: Any) -> Any:
                if not isinstance(data, list):
                    raise _fail("list for tuple", data)
                return tuple(element(v) for v in data)

            return as_tuple
        elements = [_converter(a) for a in args]

        def as_fixed_tuple(data: Any) -> Any:
            if not isinstance(data, list) or len(data) != len(elements):
                raise _fail(f"list of {len(elements)} for tuple", data)
            return tuple(convert(v) for convert, v in zip(elements, data))

        return as_fixed_tuple
    if origin is dict:
        key_t, value_t = typing.get_args(tp) or (str, Any)
        key, value = _converter(key_t), _converter(value_t)

        def as_dict(data: Any) -> Any:
            if not isinstance(data, dict):
                raise _fail("object", data)
            return {key(k): value(v) for k, v in data.items()}

        return as_dict
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        fields = [(f.name, _converter(hints[f.name])) for f in dataclasses.fields(tp) if f.init]
        cls = tp

        def as_dataclass(data: Any) -> Any:
            if not isinstance(data, dict):
                raise _fail(f"object for {cls.__name__}", data)
            return cls(**{name: convert(data[name]) for name, convert in fields})

        return as_dataclass
    if tp is float:

        def as_float(data: Any) -> Any:
            if isinstance(data, bool) or not isinstance(data, (int, float)):
                raise _fail("number", data)
            return float(data)

        return as_float
    if isinstance(tp, type) and tp in (str, int, bool):

        def exact(data: Any) -> Any:
            if not isinstance(data, tp) or (tp is int and isinstance(data, bool)):
                raise _fail(tp.__name__, data)
            return data

        return exact
    return lambda data: data
