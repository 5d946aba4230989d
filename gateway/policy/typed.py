"""Validate a YAML section into a settings type owned elsewhere (a dataclass or pydantic model).

Unknown keys are found by walking the type's fields (a plain dataclass does
not forbid them by itself); values are then validated strictly in JSON mode,
where YAML sequences stand for tuples and sets and nothing else is coerced.
"""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, TypeAdapter, ValidationError

from gateway.problems import suggestion

Loc = tuple[str | int, ...]


def _field_types(tp: type) -> dict[str, Any] | None:
    """The fields accepted by a dataclass or pydantic model (by name and alias), or None."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        found: dict[str, Any] = {}
        for name, info in tp.model_fields.items():
            found[info.alias or name] = info.annotation
        return found
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = get_type_hints(tp)
        return {f.name: hints[f.name] for f in dataclasses.fields(tp) if f.init}
    return None


def unknown_keys(tp: Any, data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Every key of `data` that `tp` does not accept, with where it stands."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        for option in get_args(tp):
            if _field_types(option) is not None and isinstance(data, dict):
                yield from unknown_keys(option, data, loc)
                return
        return
    if origin in (tuple, list, frozenset, set) and isinstance(data, list):
        item = get_args(tp)[0] if get_args(tp) else Any
        for index, value in enumerate(data):
            yield from unknown_keys(item, value, (*loc, index))
        return
    fields = _field_types(tp) if isinstance(tp, type) else None
    if fields is None or not isinstance(data, dict):
        return
    for key, value in data.items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            hint = suggestion(str(key), fields)
            yield (*loc, key), f"unknown key '{key}'{hint} (known: {known})"
        else:
            yield from unknown_keys(fields[key], value, (*loc, key))


@lru_cache(maxsize=16)
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def validate_typed(tp: Any, data: Any) -> tuple[Any, list[tuple[Loc, str]]]:
    """The value of type `tp` built from `data`, or None and every problem found."""
    problems = list(unknown_keys(tp, data))
    if problems:
        return None, problems
    try:
        text = json.dumps(data, default=str)
        return _adapter(tp).validate_json(text, strict=True), []
    except ValidationError as exc:
        found: list[tuple[Loc, str]] = []
        for problem in exc.errors():
            loc = tuple(part for part in problem["loc"] if isinstance(part, str | int))
            dotted = ".".join(str(part) for part in loc)
            found.append((loc, f"{dotted}: {problem['msg']}" if dotted else problem["msg"]))
        return None, found
    except ValueError as exc:
        return None, [((), str(exc))]
