"""Dataclasses to plain JSON data and back, driven by type hints (for the content cache)."""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import lru_cache
from typing import Any, Union


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


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_data(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` from ``to_data`` output; raises TypeError/ValueError on a mismatch."""
    origin = typing.get_origin(tp)
    if tp is Any or tp is object:
        return data
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return from_data(arg, data)
            except (TypeError, ValueError, KeyError) as exc:
                errors.append(exc)
        raise TypeError(f"no member of {tp} fits {data!r}: {errors}")
    if origin is list:
        if not isinstance(data, list):
            raise TypeError(f"expected list, got {type(data).__name__}")
        (item,) = typing.get_args(tp) or (Any,)
        return [from_data(item, v) for v in data]
    if origin is tuple:
        if not isinstance(data, list):
            raise TypeError(f"expected list for tuple, got {type(data).__name__}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_data(args[0], v) for v in data)
        return tuple(from_data(a, v) for a, v in zip(args, data))
    if origin is dict:
        if not isinstance(data, dict):
            raise TypeError(f"expected object, got {type(data).__name__}")
        key_t, value_t = typing.get_args(tp) or (str, Any)
        return {from_data(key_t, k): from_data(value_t, v) for k, v in data.items()}
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise TypeError(f"expected object for {tp.__name__}")
        hints = _hints(tp)
        kwargs = {f.name: from_data(hints[f.name], data[f.name]) for f in dataclasses.fields(tp) if f.init}
        return tp(**kwargs)
    if tp is float and isinstance(data, (int, float)):
        return float(data)
    if isinstance(tp, type) and tp in (str, int, bool):
        if not isinstance(data, tp) or (tp is int and isinstance(data, bool)):
            raise TypeError(f"expected {tp.__name__}, got {type(data).__name__}")
        return data
    return data
