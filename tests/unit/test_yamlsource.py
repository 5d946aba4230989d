"""YAML the administrator may get wrong, or be handed: every shape the parser or the walk
cannot take is a `file:line:column` error, never a traceback, a hang or a memory blow-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.yamlsource import MAX_DEPTH, MAX_NODES, YamlSourceError, parse_yaml

ROOT = Path(__file__).resolve().parents[2]


def _bomb(levels: int) -> str:
    """Billion laughs: each level nine aliases of the one before."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("text", "error"), [
    ("server:\n  workers: 1\n\x00\n", "f.yaml:3:1: character U+0000 is not allowed in YAML"),
    ("server:\n  hostname: a\x07b\n", "f.yaml:2:14: character U+0007 is not allowed in YAML"),
    ("x: &a [*a]\n", "f.yaml:1:4: an alias refers to a value that holds it"),
    ("server:\n  on: 1\n", "f.yaml:2:3: key 'on' reads as true; quote it"),
    ("server: &a {hostname: *a}\n", "f.yaml:1:9: an alias refers to a value that holds it"),
    ("server: " + "[" * 700 + "]" * 700 + "\n", "f.yaml:1:1: nested too deeply"),
    ("server: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n",
     f"nested deeper than {MAX_DEPTH} levels"),
    (_bomb(10), f"more than {MAX_NODES} keys and items (aliases expanded)"),
])
def test_a_shape_that_cannot_be_taken_is_a_positioned_error(text: str, error: str) -> None:
    started = time.monotonic()
    with pytest.raises(YamlSourceError) as raised:
        parse_yaml(text, "f.yaml")
    (line,) = raised.value.errors
    assert line.startswith("f.yaml:") and line.endswith(error), line
    assert time.monotonic() - started < 5


def test_aliases_used_side_by_side_are_read() -> None:
    text = "lists: &l [a, b]\nagain: *l\nmore: {x: *l, y: *l}\n" + _bomb(4)
    document = parse_yaml(text, "f.yaml")
    assert document.data["more"] == {"x": ["a", "b"], "y": ["a", "b"]}
    assert len(document.data["a3"]) == 9


@pytest.mark.parametrize("text", ["server:\n  workers: 1\n\x00\n", _bomb(10), "x: &a [*a]\n"])
def test_config_validate_says_so_and_exits_2(tmp_path: Path, text: str) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(text)
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "config", "validate",
                           str(config)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"{config}:"), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_path_that_is_not_a_regular_file_is_refused_not_read_forever(
        tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "gateway.yaml"
        os.mkfifo(path)  # no writer: opening it to read would wait for one
    elif kind == "folder":
        path = tmp_path / "policy.yaml"  # named, not "[Errno 21] Is a directory: 3"
        path.mkdir()
    else:
        path = Path("/dev/zero")  # reading it would never end
    for command in (["config", "validate", str(path)], ["check", str(path)]):
        done = subprocess.run([sys.executable, "-m", "gateway.cli", *command],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert done.returncode == 2, (command, done.stderr)
        reason = f"[Errno 22] {path} is not a regular file"
        expected = (f"tth-gateway: {reason}" if command[0] == "check"
                    else f"{path}:1:1: cannot read: {reason}")
        assert done.stderr.strip() == expected  # the reason alone: no traceback, no warning


def test_merge_keys_are_read_with_own_keys_winning() -> None:
    text = ("base: &b {x: 1, y: 2}\nthing: {<<: *b, z: 3}\n"
            "more: {<<: [*b, {w: 4}], x: 9}\n")
    document = parse_yaml(text, "f.yaml")
    assert document.data["thing"] == {"x": 1, "y": 2, "z": 3}
    assert document.data["more"] == {"x": 9, "y": 2, "w": 4}
    assert str(document.position(("more", "x"))) == "f.yaml:3:26"
    with pytest.raises(YamlSourceError) as raised:
        parse_yaml("b: &b {x: 1}\nc: {<<: *b, x: 2, x: 3}\n", "f.yaml")
    assert raised.value.errors == ["f.yaml:2:19: duplicate key 'x'"]


def test_merges_of_merges_stay_small_and_a_merge_of_itself_adds_nothing() -> None:
    """Merged keys are counted once each (nine merges of nine merges hold 17 keys, not 9^8),
    and a mapping that merges itself gains nothing, quickly."""
    lines = ["a0: &a0 {" + ", ".join(f"k{n}: 1" for n in range(9)) + "}"]
    lines += [f"a{n}: &a{n} {{<<: [" + ", ".join([f"*a{n - 1}"] * 9) + f"], own{n}: 1}}"
              for n in range(1, 8)]
    lines.append("big: {<<: [" + ", ".join(["*a7"] * 9) + "]}")
    started = time.monotonic()
    assert len(parse_yaml("\n".join(lines) + "\n", "f.yaml").data["big"]) == 16
    assert parse_yaml("a: &a {<<: *a}\n", "f.yaml").data == {"a": {}}
    with pytest.raises(YamlSourceError):  # its own key then comes twice
        parse_yaml("a: &a {<<: *a, x: 1}\n", "f.yaml")
    assert time.monotonic() - started < 5
