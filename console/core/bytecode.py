# SPDX-License-Identifier: GPL-2.0-or-later
"""Optimized bytecode (``python -OO``) for the console and its engine, when it is compiled.

``-OO`` drops docstrings and ``assert`` statements from the code a process loads: an
idle console holds about 2 MiB less, its engine about 1 MiB (issue 17). careline needs
neither at run time (its asserts only narrow types for the type checker; no help text
comes from a docstring in these processes). But the interpreter finds ``-OO`` bytecode
only in ``*.opt-2.pyc`` files, which pip does not write: a module without one is
compiled from its source at every start where the cache cannot be written, slower and
heavier than running unoptimized. So a process goes optimized only when the packages
it runs on were compiled that way (``make`` does it, ``python -OO -m compileall``).

Nothing here imports more than the standard library's basics: the entry points call
:func:`run_optimized` before anything else loads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from importlib.machinery import SOURCE_SUFFIXES
from importlib.util import cache_from_source, find_spec

from console.core.malloc_arenas import limited_at_start, one_arena_environment

OPTIMIZE_FLAG = "-OO"
"""The interpreter option, and :data:`OPTIMIZATION` its level in a bytecode file's name."""
OPTIMIZATION = 2

CONSOLE_MODULES = ("asyncio", "textual", "console")
"""Packages whose optimized bytecode the console needs: the standard library, its UI
toolkit and itself, each checked by its ``__init__`` (compileall writes a tree whole)."""
ENGINE_MODULES = ("asyncio", "pjsua2", "sip")
"""The same for the engine process (``python -m sip``): pjsua2's generated wrapper is
large, the one module it would hurt most to compile at every start."""


def compiled(modules: Iterable[str]) -> bool:
    """Whether every one of ``modules`` (top-level names, not imported here) has its
    optimized bytecode written; a module with no source (built in, frozen) needs none,
    one that cannot be found has none."""
    for name in modules:
        spec = find_spec(name)
        if spec is None:
            return False
        origin = spec.origin or ""
        if not origin.endswith(tuple(SOURCE_SUFFIXES)):
            continue
        if not os.path.exists(cache_from_source(origin, optimization=OPTIMIZATION)):
            return False
    return True


def interpreter_flags(modules: Iterable[str]) -> list[str]:
    """The flags a new Python process that runs on ``modules`` gets: ``-OO`` if compiled."""
    return [OPTIMIZE_FLAG] if compiled(modules) else []


def optimized_argv(orig_argv: Sequence[str], executable: str) -> list[str]:
    """``orig_argv`` (the interpreter's own command line) run by ``executable`` with ``-OO``
    first, its other options and arguments as they were."""
    return [executable, OPTIMIZE_FLAG, *orig_argv[1:]]


def run_optimized() -> None:
    """Replace this process (same PID, same terminal) with itself under ``-OO``, when it is
    not already optimized and the console's bytecode is compiled; otherwise (or when the
    interpreter cannot be started again) return."""
    limited_at_start()  # the new process's first step: see console.core.malloc_arenas
    if sys.flags.optimize >= OPTIMIZATION or not compiled(CONSOLE_MODULES):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        argv = optimized_argv(sys.orig_argv, sys.executable)
        os.execve(sys.executable, argv, one_arena_environment(os.environ))
    except OSError:
        return  # no executable to run (an embedding, a venv deleted under it): as it is
