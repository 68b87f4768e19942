# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile YAML and JSON end in one clear line, within bounded memory and time.

Every CLI case runs ``careline`` as a real subprocess under a 1 GiB address
space ceiling (tests.limited_run): before the bounded loader, an alias bomb
reached that ceiling in ``scripts check``, 100,000 levels of nesting ended in a
RecursionError traceback, and ``--config /dev/zero`` grew without end.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.core.bounded_load import (
    BoundedLines,
    LimitError,
    Limits,
    LineTooLongError,
    check_json_depth,
    loads_json,
    read_text,
)
from console.core.bounded_yaml import compose_yaml
from console.core.scripts.loader import load_library
from tests.limited_run import LimitedRun, run_limited

DEPTH = 100_000
PEAK_MIB = 256
"""A hostile file must be refused well inside this (a normal CLI run peaks near 50 MiB)."""


def alias_bomb(indent: str = "") -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings once expanded."""
    lines = [f"{indent}a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{indent}{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


def nested(depth: int = DEPTH) -> str:
    return "[" * depth + "]" * depth


def refused(run: LimitedRun, code: int) -> str:
    """The one line a refused file gives; checks the exit code, the memory and no traceback."""
    assert run.returncode == code, run
    assert "Traceback" not in run.stderr
    assert "MemoryError" not in run.stderr + run.stdout
    assert run.peak_mib < PEAK_MIB, f"peak {run.peak_mib} MiB"
    print(f"peak {run.peak_mib} MiB")  # shown with -s, for the record
    lines = (run.stdout + run.stderr).strip().splitlines()
    return "\n".join(lines)


# -- the CLI, under a memory ceiling ------------------------------------------


def test_alias_bomb_in_a_script(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    bomb = library / "bomb.yaml"
    bomb.write_text("kind: script\n" + alias_bomb(), encoding="utf-8")

    run = run_limited("scripts", "check", str(library), tmp_path=tmp_path)

    assert refused(run, 1) == (
        f"{bomb}:7: more than 100,000 values once aliases are expanded\n"
        f"{library}: 1 problem (0 scripts, 0 forms, 0 preparations, 0 worklists)"
    )


def test_alias_bomb_in_the_config(tmp_path: Path) -> None:
    config = tmp_path / "careline.yaml"
    config.write_text("ui:\n  bell: false\nextra:\n" + alias_bomb("  "), encoding="utf-8")

    run = run_limited("--config", str(config), "config", tmp_path=tmp_path)

    assert refused(run, 2) == (
        f"careline: {config}: line 9: more than 100,000 values once aliases are expanded"
    )


def test_deep_nesting_in_the_config(tmp_path: Path) -> None:
    config = tmp_path / "careline.yaml"
    config.write_text("ui:\n  not_ready_reasons: " + nested() + "\n", encoding="utf-8")

    run = run_limited("--config", str(config), "config", tmp_path=tmp_path)

    assert refused(run, 2) == f"careline: {config}: line 2: nested more than 64 levels deep"


def test_deep_nesting_in_a_script(tmp_path: Path) -> None:
    script = tmp_path / "deep.yaml"
    script.write_text("kind: script\nsteps:\n  - " + nested() + "\n", encoding="utf-8")

    run = run_limited("scripts", "check", str(script), tmp_path=tmp_path)

    assert refused(run, 1) == (
        f"{script}:3: nested more than 64 levels deep\n"
        f"{script}: 1 problem (0 scripts, 0 forms, 0 preparations, 0 worklists)"
    )


@pytest.mark.parametrize("name", ["deep.json", "deep-no-suffix"])
def test_deep_nesting_in_a_json_patient_import(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(nested() + "\n", encoding="utf-8")

    run = run_limited("patients", "import", str(path), tmp_path=tmp_path)

    assert refused(run, 2) == f"careline: {path}: line 1: nested more than 64 levels deep"


def test_deep_nesting_in_an_ndjson_line_rejects_that_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.ndjson"
    path.write_text('{"a":' * DEPTH + "1" + "}" * DEPTH + "\n", encoding="utf-8")

    run = run_limited("patients", "import", str(path), tmp_path=tmp_path)

    assert refused(run, 1).splitlines() == [
        f"{path}: 0 imported, 0 updated, 1 rejected",
        f"  rejected: {path}: line 1: nested more than 64 levels deep",
    ]


def test_dev_zero_as_the_config(tmp_path: Path) -> None:
    run = run_limited("--config", "/dev/zero", "config", tmp_path=tmp_path)

    assert refused(run, 2) == (
        "careline: /dev/zero: larger than the limit of 1,000,000 bytes for a configuration file"
    )


def test_dev_zero_as_an_import_file(tmp_path: Path) -> None:
    run = run_limited("patients", "import", "/dev/zero", tmp_path=tmp_path)

    assert refused(run, 2) == (
        "careline: /dev/zero: not a regular file (an import reads its file twice: "
        "save it to a file first)"
    )


@pytest.fixture
def endless_fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO whose writer (``yes``) never stops; the writer is stopped by its PID."""
    fifo = tmp_path / "endless.yaml"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        ["sh", "-c", f'exec yes "x: y" > "{fifo}"'], stderr=subprocess.DEVNULL
    )
    yield fifo
    writer.kill()
    writer.wait(timeout=10)


def test_endless_fifo_as_the_config(tmp_path: Path, endless_fifo: Path) -> None:
    run = run_limited("--config", str(endless_fifo), "config", tmp_path=tmp_path)

    assert refused(run, 2) == (
        f"careline: {endless_fifo}: larger than the limit of 1,000,000 bytes "
        "for a configuration file"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("9" * 5000, "cannot read this value (Exceeds the limit (4300 digits)"),
        ("2024-02-30", "cannot read this value (day is out of range for month)"),
        ("&a [*a]", "a YAML alias refers to a list or mapping it is inside"),
    ],
    ids=["huge-integer", "no-such-date", "alias-cycle"],
)
def test_values_python_cannot_build_are_one_line(tmp_path: Path, value: str, problem: str) -> None:
    config = tmp_path / "careline.yaml"
    config.write_text(f"ui:\n  theme: {value}\n", encoding="utf-8")

    run = run_limited("--config", str(config), "config", tmp_path=tmp_path)

    assert refused(run, 2).startswith(f"careline: {config}: line 2")
    assert problem in run.stderr


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    config = tmp_path / "careline.yaml"
    config.write_text(
        "ui:\n  not_ready_reasons: &reasons [Break, Lunch]\n"
        "directory:\n  - &nurse {name: Nurse line, number: '2001'}\n"
        "  - {<<: *nurse, name: Nurse line (backup)}\n",
        encoding="utf-8",
    )

    run = run_limited("--config", str(config), "config", tmp_path=tmp_path)

    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    assert [entry["number"] for entry in shown["directory"]] == ["2001", "2001"]


# -- the console reads guidance.scripts with the same loader -------------------


def test_the_console_library_loader_refuses_a_bomb_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text("kind: form\n" + alias_bomb(), encoding="utf-8")
    (tmp_path / "deep.yaml").write_text("kind: form\nx: " + nested(), encoding="utf-8")

    library = load_library(tmp_path)

    assert [str(problem) for problem in library.problems] == [
        f"{tmp_path}/bomb.yaml:7: more than 100,000 values once aliases are expanded",
        f"{tmp_path}/deep.yaml:2: nested more than 64 levels deep",
    ]


# -- the pieces --------------------------------------------------------------


def test_read_text_stops_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_text(path, 100) == "x" * 100
    with pytest.raises(LimitError, match="larger than the limit of 99 bytes"):
        read_text(path, 99)


def test_json_depth_ignores_brackets_in_strings() -> None:
    check_json_depth(json.dumps({"a": "[[[[[[" * 100, "b": ['\\"[[[['] * 3}), 3)
    assert loads_json('[[["x"]]]', 3) == [[["x"]]]
    with pytest.raises(LimitError, match=r"^line 3: nested more than 3 levels deep$"):
        loads_json('[\n[\n[["]]]]"]]]]', 3)
    with pytest.raises(LimitError, match="a value cannot be read"):
        loads_json("1" * 5000, 3)


def test_yaml_limits_count_aliases_as_expanded() -> None:
    limits = Limits(max_bytes=1000, max_depth=4, max_values=20, max_aliases=3)
    assert compose_yaml("a: &x [1, 2]\nb: *x\n", limits)[1] == {"a": [1, 2], "b": [1, 2]}
    with pytest.raises(LimitError, match="more than 3 YAML aliases"):
        compose_yaml("a: &x 1\nb: [*x, *x, *x, *x]\n", limits)
    with pytest.raises(LimitError, match="nested more than 4 levels deep once aliases"):
        compose_yaml("a: &x [[1]]\nb: [[*x]]\n", limits)
    with pytest.raises(LimitError, match="more than 20 values"):
        compose_yaml("a: &x [1, 2, 3, 4, 5, 6]\nb: [*x, *x, *x]\n", limits)


def test_bounded_lines_skip_a_long_line_and_go_on() -> None:
    lines = BoundedLines(io.StringIO("short\n" + "x" * 50 + "\nnext\nlast"), 10)
    assert next(lines) == "short\n"
    with pytest.raises(LineTooLongError, match="line 2: longer than the limit of 10"):
        next(lines)
    assert (next(lines), lines.number) == ("next\n", 3)
    assert list(lines) == ["last"]
