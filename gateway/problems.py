"""Validation problems as administrators read them: a rule by its name, one message per
typo, and a "did you mean" for a misspelt key or value.

Pydantic reports a misspelt key twice (the unknown key, and the field it should have
been as missing); here that pair becomes one line naming both.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, get_args

from pydantic import BaseModel
from pydantic_core import ErrorDetails

Loc = tuple[Any, ...]
_QUOTED = re.compile(r"'([^']*)'")


def suggestion(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `choices`, or nothing."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{found[0]}'?)" if found else ""


def place(loc: Loc, data: Any) -> str:
    """`loc` for a reader: `rule 'name': when.sender` rather than `rules.3.when.sender`."""
    parts = [str(part) for part in loc]
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules") if isinstance(data, dict) else None
        rule = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
        name = rule.get("name") if isinstance(rule, dict) else None
        if isinstance(name, str) and name:
            rest = ".".join(parts[2:])
            return f"rule '{name}'" + (f": {rest}" if rest else "")
    return ".".join(parts)


def _misspellings(errors: list[ErrorDetails], prefix: Loc) -> dict[Loc, str]:
    """Unknown keys that are close to a required field missing beside them."""
    missing = [(*prefix, *error["loc"]) for error in errors if error["type"] == "missing"]
    pairs: dict[Loc, str] = {}
    for error in errors:
        if error["type"] != "extra_forbidden":
            continue
        loc = (*prefix, *error["loc"])
        siblings = [str(other[-1]) for other in missing if other[:-1] == loc[:-1]]
        close = difflib.get_close_matches(str(loc[-1]), siblings, n=1, cutoff=0.6)
        if close:
            pairs[loc] = close[0]
    return pairs


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside `X`, `X | None`, `list[X]`, `tuple[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _inner_model(argument)
        if found is not None:
            return found
    return None


def model_at(model: type[BaseModel] | None, path: Loc = ()) -> type[BaseModel] | None:
    """The model validated at `path` inside `model`, or None."""
    for part in path:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        model = _inner_model(fields[part].annotation) if part in fields else None
    return model


def model_keys(model: type[BaseModel] | None, path: Loc = ()) -> list[str]:
    """The keys accepted at `path` inside `model` (aliases where they exist)."""
    found = model_at(model, path)
    if found is None:
        return []
    return [info.alias or name for name, info in found.model_fields.items()]


def moved_key(model: type[BaseModel] | None, path: Loc, key: str) -> str | None:
    """Where a key that the model at `path` no longer takes went (its `MOVED_KEYS`)."""
    found = model_at(model, path)
    moved: dict[str, str] = getattr(found, "MOVED_KEYS", {})
    return moved.get(key)


def explain(errors: list[ErrorDetails], prefix: Loc, data: Any,
            model: type[BaseModel] | None = None) -> list[tuple[Loc, str]]:
    """One (location, message) per problem; `data` is the whole file (for rule names),
    `model` the one validated at `prefix` (for suggestions of its keys)."""
    pairs = _misspellings(errors, prefix)
    meant = {(*loc[:-1], field) for loc, field in pairs.items()}
    found: list[tuple[Loc, str]] = []
    for error in errors:
        loc = (*prefix, *error["loc"])
        kind = error["type"]
        if kind == "missing" and loc in meant:
            continue  # reported with the misspelt key
        moved = (moved_key(model, loc[len(prefix):-1], str(loc[-1]))
                 if kind == "extra_forbidden" else None)
        if moved is not None:
            message = f"'{loc[-1]}' is no longer read here: {moved}"
            where = place(loc[:-1], data)
        elif kind == "extra_forbidden":
            if loc in pairs:
                hint = f" (did you mean '{pairs[loc]}'?)"
            else:
                keys = model_keys(model, loc[len(prefix):-1])
                hint = suggestion(str(loc[-1]), keys)
            message = f"unknown key '{loc[-1]}'{hint}"
            where = place(loc[:-1], data)
        else:
            message = error["msg"]
            if kind == "literal_error":
                expected = _QUOTED.findall(str(error.get("ctx", {}).get("expected", "")))
                message += _boolean_hint(error.get("input"), expected) or suggestion(
                    str(error.get("input")), expected)
            where = place(loc, data)
        found.append((loc, f"{where}: {message}" if where else message))
    return found


def _boolean_hint(given: object, expected: list[str]) -> str:
    """YAML 1.1 reads an unquoted off/on/yes/no as a boolean: say so when the word was
    one of the choices (`starttls: off`)."""
    if not isinstance(given, bool):
        return ""
    words = {True: ("on", "yes", "true"), False: ("off", "no", "false")}[given]
    meant = [word for word in expected if word.lower() in words]
    if not meant:
        return ""
    return f" (YAML read the unquoted word as {str(given).lower()}; quote it: \"{meant[0]}\")"
