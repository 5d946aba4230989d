"""YAML files that remember where each value stands, for `file:line:column` errors."""

from __future__ import annotations

import errno
import os
import stat
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


#: Keys and items a file may hold once its aliases are expanded, and how deep it may nest:
#: far above any configuration or policy, far below what would exhaust memory or the stack.
MAX_NODES = 100_000
MAX_DEPTH = 64


class _Refused(Exception):
    """The file's shape is refused before it is used: `message` at `node`."""

    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


@dataclass
class _Walk:
    """Records the position of every key and item, and each duplicate key, expanding
    aliases within MAX_NODES and MAX_DEPTH (an alias bomb, a value that holds itself)."""

    file: str
    loader: yaml.SafeLoader
    positions: dict[PathKey, Position]
    errors: list[str]
    nodes: int = 0

    def node(self, node: yaml.Node, path: PathKey, ancestors: tuple[int, ...] = ()) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Refused(node, f"more than {MAX_NODES} keys and items (aliases expanded)")
        if id(node) in ancestors:
            raise _Refused(node, "an alias refers to a value that holds it")
        if len(ancestors) >= MAX_DEPTH:
            raise _Refused(node, f"nested deeper than {MAX_DEPTH} levels")
        inner = (*ancestors, id(node))
        if isinstance(node, yaml.MappingNode):
            self._mapping(node, path, inner)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.positions[(*path, index)] = _mark(self.file, item)
                self.node(item, (*path, index), inner)

    def _mapping(self, node: yaml.MappingNode, path: PathKey, inner: tuple[int, ...]) -> None:
        own = {id(key) for key, _ in node.value if key.tag != _MERGE}
        if len(own) < len(node.value):  # `<<: *defaults`: merged keys first, own ones win
            self.loader.flatten_mapping(node)  # each merged key once; a self-merge recurses
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            if isinstance(key, bool):  # YAML 1.1: on, off, yes, no, y, n
                self.errors.append(f"{_mark(self.file, key_node)}: key '{key_node.value}' "
                                   f"reads as {str(key).lower()}; quote it")
                continue
            if not isinstance(key, str | int):
                self.errors.append(f"{_mark(self.file, key_node)}: keys must be plain words")
                continue
            if id(key_node) in own:
                if key in seen:
                    self.errors.append(f"{_mark(self.file, key_node)}: duplicate key '{key}'")
                seen.add(key)
            self.positions[(*path, key)] = _mark(self.file, key_node)
            self.node(value_node, (*path, key), inner)


_MERGE = "tag:yaml.org,2002:merge"


def _position(text: str, index: int) -> tuple[int, int]:
    """Line and column (1-based) of character `index` in `text`."""
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document; syntax errors, duplicate keys and refused shapes (too deep,
    too many nodes once aliases are expanded, a value holding itself) raise
    `YamlSourceError`."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(file, None, {(): Position(file, 1, 1)})
        positions: dict[PathKey, Position] = {(): _mark(file, node)}
        errors: list[str] = []
        _Walk(file, loader, positions, errors).node(node, ())
        data = loader.construct_document(node)
    except _Refused as exc:
        raise YamlSourceError([f"{_mark(file, exc.node)}: {exc.message}"]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, control)
        line, column = _position(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or " ")
        raise YamlSourceError([f"{file}:{line}:{column}: character U+{code:04X} is not "
                               "allowed in YAML"]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlSourceError([f"{file}:{line}:{column}: {exc.problem or exc}"]) from exc
    except yaml.YAMLError as exc:
        raise YamlSourceError([f"{file}:1:1: {exc}"]) from exc
    except RecursionError:  # the parser's own stack, before the walk could count the depth
        raise YamlSourceError([f"{file}:1:1: nested too deeply"]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if errors:
        raise YamlSourceError(errors)
    return YamlDocument(file, data, positions)


def load_yaml(path: Path) -> YamlDocument:
    """Read and parse a YAML file; unreadable files raise `YamlSourceError`."""
    try:
        text = read_regular(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlSourceError([f"{path}:1:1: cannot read: {exc}"]) from exc
    return parse_yaml(text, str(path))


def read_regular(path: Path) -> bytes:
    """The bytes of `path`; OSError unless it is a regular file (a FIFO or a device such
    as /dev/zero would never end)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO's open would wait
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # a folder too: named, not "3"
        os.close(descriptor)
        raise OSError(errno.EINVAL, f"{path} is not a regular file")
    with os.fdopen(descriptor, "rb") as file:
        os.set_blocking(descriptor, True)
        return file.read()
