# SPDX-License-Identifier: GPL-2.0-or-later
"""The console and its engine run on optimized bytecode (``python -OO``) when the install
compiled it (issue 17: about 2 MiB less for an idle console, 1 MiB for its engine).

``-OO`` leaves out docstrings and ``assert`` statements; careline's asserts only narrow
types. The interpreter compiles a module it has no ``-OO`` bytecode for from its source
at every start (where it may not write its cache, as with PYTHONDONTWRITEBYTECODE),
which costs more time and memory than it saves: so a process is started optimized only
when the bytecode of the packages it runs on is there. ``make`` compiles it.
"""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import command_line, console_and_engine, isolated_home
from console.core import bytecode, malloc_arenas
from console.core.engine_settings import lean_engine_argv
from tests.support import free_udp_port
from tests.tmux import TmuxSession


def test_the_optimizing_flag_goes_right_after_the_interpreter() -> None:
    argv = ["python3", "-X", "importtime", "-m", "console", "run"]
    assert bytecode.optimized_argv(argv, "/venv/bin/python") == [
        "/venv/bin/python",
        "-OO",
        "-X",
        "importtime",
        "-m",
        "console",
        "run",
    ]


def test_a_package_is_compiled_only_once_its_optimized_bytecode_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "careline_probe_pkg"
    package.mkdir()
    (package / "__init__.py").write_text('"""A probe."""\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not bytecode.compiled(["careline_probe_pkg"])
    compileall.compile_dir(str(package), optimize=0, quiet=1)  # what pip writes
    assert not bytecode.compiled(["careline_probe_pkg"])
    compileall.compile_dir(str(package), optimize=2, quiet=1)
    assert bytecode.compiled(["careline_probe_pkg"])


def test_a_missing_or_built_in_module_does_not_stop_the_check() -> None:
    assert not bytecode.compiled(["careline_no_such_module"])
    assert bytecode.compiled(["sys"])  # built in: no bytecode to look for


def test_an_entry_point_replaces_itself_with_the_optimized_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, list[str], dict[str, str]]] = []
    monkeypatch.setattr(os, "execve", lambda path, argv, env: calls.append((path, argv, env)))
    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "console", "run"])
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(bytecode, "compiled", lambda _modules: False)
    bytecode.run_optimized()
    assert calls == []  # not compiled: runs as it is
    monkeypatch.setattr(bytecode, "compiled", lambda _modules: True)
    bytecode.run_optimized()
    [(path, argv, env)] = calls
    assert (path, argv) == (sys.executable, [sys.executable, "-OO", "-m", "console", "run"])
    assert env == {**os.environ, "MALLOC_ARENA_MAX": "1", "CARELINE_ONE_ARENA": "1"}


def test_the_engine_is_started_optimized_only_when_compiled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bytecode, "compiled", lambda _modules: True)
    argv = lean_engine_argv(settings_fd=5, stdio=False, socket_path=None, orphan_exit=None)
    assert argv[:4] == [sys.executable, "-OO", "-m", "sip"]
    monkeypatch.setattr(bytecode, "compiled", lambda _modules: False)
    argv = lean_engine_argv(settings_fd=5, stdio=False, socket_path=None, orphan_exit=None)
    assert argv[:3] == [sys.executable, "-m", "sip"]


def test_a_real_console_and_its_engine_run_optimized() -> None:
    """``make`` compiled the bytecode (the README's commands run it): the console started
    as ``python -m console run`` replaces itself with ``python -OO …`` (same process) and
    starts its engine the same way; the phone comes online and ``q`` still quits."""
    assert bytecode.compiled(bytecode.CONSOLE_MODULES), "run make: it compiles -OO bytecode"
    assert bytecode.compiled(bytecode.ENGINE_MODULES), "run make: it compiles -OO bytecode"
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{free_udp_port()}"
        session = TmuxSession([sys.executable, "-m", "console", "run"], env)
        try:
            session.wait_for("phone online", 30)
            console, engine = console_and_engine(env["HOME"])
            commands = command_line(console), command_line(engine)
            # One malloc arena from its start: no ctypes to set it (console.core.malloc_arenas)
            started_with = _environment(console)
            mapped = Path(f"/proc/{console}/maps").read_text()
            engine_environment = _environment(engine)
            session.keys("q")
            session.wait_for("CARELINE-EXIT 0", 20)
        finally:
            session.kill()
    assert commands[0].startswith(f"{sys.executable} -OO -m console run"), commands
    assert commands[1].startswith(f"{sys.executable} -OO -m sip "), commands
    assert started_with.get(malloc_arenas.ARENA_LIMIT) == "1"
    assert "_ctypes" not in mapped
    assert malloc_arenas.ARENA_LIMIT not in engine_environment
    assert malloc_arenas.SET_AT_START not in engine_environment


def _environment(pid: int) -> dict[str, str]:
    """The environment ``pid`` was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    return dict(item.partition("=")[::2] for item in raw.split("\0") if item)


def test_the_optimized_start_limits_the_arenas_for_the_console_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The console's optimized start gets glibc's one-arena limit in its environment; the
    console takes it out of its own (its engine and demo caller start without it) and then
    needs no ctypes to set it. A limit the user set is theirs."""
    environ = malloc_arenas.one_arena_environment({"PATH": "/bin"})
    assert environ == {"PATH": "/bin", "MALLOC_ARENA_MAX": "1", "CARELINE_ONE_ARENA": "1"}
    assert malloc_arenas.one_arena_environment({"MALLOC_ARENA_MAX": "4"}) == {
        "MALLOC_ARENA_MAX": "4"
    }
    monkeypatch.setenv("MALLOC_ARENA_MAX", "1")
    monkeypatch.setenv("CARELINE_ONE_ARENA", "1")
    malloc_arenas.limited_at_start.cache_clear()
    try:
        assert malloc_arenas.limited_at_start()
        assert "MALLOC_ARENA_MAX" not in os.environ
        assert "CARELINE_ONE_ARENA" not in os.environ
        assert malloc_arenas.limited_at_start()  # remembered
        malloc_arenas.limited_at_start.cache_clear()
        monkeypatch.setenv("CARELINE_ONE_ARENA", "1")  # the marker alone is no limit
        assert not malloc_arenas.limited_at_start()
    finally:
        malloc_arenas.limited_at_start.cache_clear()


ARENA_CHECK = (
    "import os, sys\n"
    "from console.core.malloc_arenas import share_one_arena\n"
    "share_one_arena()\n"
    "print('ctypes' in sys.modules, os.environ.get('MALLOC_ARENA_MAX'),"
    " os.environ.get('CARELINE_ONE_ARENA'))\n"
)


@pytest.mark.parametrize(
    ("environment", "printed"),
    [
        ({"MALLOC_ARENA_MAX": "1", "CARELINE_ONE_ARENA": "1"}, "False None None"),
        ({"MALLOC_ARENA_MAX": "4"}, "False 4 None"),  # the user's limit stands, inherited
        ({}, "True None None"),  # started another way: mallopt through ctypes
    ],
)
def test_the_arena_limit_needs_no_ctypes_when_set_at_start(
    environment: dict[str, str], printed: str
) -> None:
    ours = ("MALLOC_ARENA_MAX", "CARELINE_ONE_ARENA")
    env = {name: value for name, value in os.environ.items() if name not in ours}
    done = subprocess.run(
        [sys.executable, "-c", ARENA_CHECK],
        env={**env, **environment},
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == printed


def test_an_interpreter_that_cannot_be_started_again_runs_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No executable to replace this process with (an embedding, a deleted venv): careline
    runs unoptimized instead of failing to start."""

    def cannot(path: str, _argv: list[str], _env: dict[str, str]) -> None:
        raise FileNotFoundError(path)

    monkeypatch.setattr(os, "execve", cannot)
    monkeypatch.setattr(bytecode, "compiled", lambda _modules: True)
    bytecode.run_optimized()  # returns: the caller goes on
