"""YAML files that remember where each value stands, for `file:line:column` errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from gateway.problems import explain

PathKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Position:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class YamlSourceError(Exception):
    """A YAML file that cannot be used; `errors` holds `file:line:column: message` lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """The plain data of one YAML file and the position of every key and item."""

    file: str
    data: Any
    positions: dict[PathKey, Position]

    def position(self, loc: tuple[Any, ...]) -> Position:
        """The position of `loc`, or of its nearest ancestor that has one."""
        key: PathKey = tuple(part for part in loc if isinstance(part, str | int))
        while key:
            if key in self.positions:
                return self.positions[key]
            key = key[:-1]
        return self.positions.get((), Position(self.file, 1, 1))

    def error(self, loc: tuple[Any, ...], message: str) -> str:
        return f"{self.position(loc)}: {message}"

    def validation_errors(self, error: ValidationError, prefix: tuple[Any, ...] = (),
                          model: type[BaseModel] | None = None) -> list[str]:
        """One `file:line:column: message` line per problem of the `model` at `prefix`."""
        return [self.error(loc, message)
                for loc, message in explain(error.errors(), prefix, self.data, model)]


def _mark(file: str, node: yaml.Node) -> Position:
    return Position(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(
    file: str,
    node: yaml.Node,
    loader: yaml.SafeLoader,
    path: PathKey,
    positions: dict[PathKey, Position],
    errors: list[str],
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                errors.append(f"{_mark(file, key_node)}: keys must be plain words")
                continue
            if key in seen:
                errors.append(f"{_mark(file, key_node)}: duplicate key '{key}'")
            seen.add(key)
            positions[(*path, key)] = _mark(file, key_node)
            _walk(file, value_node, loader, (*path, key), positions, errors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            positions[(*path, index)] = _mark(file, item)
            _walk(file, item, loader, (*path, index), positions, errors)


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document; syntax errors and duplicate keys raise `YamlSourceError`."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(file, None, {(): Position(file, 1, 1)})
        data = loader.construct_document(node)
        positions: dict[PathKey, Position] = {(): _mark(file, node)}
        errors: list[str] = []
        _walk(file, node, loader, (), positions, errors)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSourceError([f"{file}:{line}:{column}: {exc.problem or exc}"]) from exc
    except yaml.YAMLError as exc:
        raise YamlSourceError([f"{file}:1:1: {exc}"]) from exc
    finally:
        loader.dispose()
    if errors:
        raise YamlSourceError(errors)
    return YamlDocument(file, data, positions)


def load_yaml(path: Path) -> YamlDocument:
    """Read and parse a YAML file; unreadable files raise `YamlSourceError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlSourceError([f"{path}:1:1: cannot read: {exc}"]) from exc
    return parse_yaml(text, str(path))
