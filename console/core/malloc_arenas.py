# SPDX-License-Identifier: GPL-2.0-or-later
"""The console process allocates from one malloc arena, whichever thread asks.

glibc gives each thread that allocates an arena of its own (up to eight per core),
and each arena keeps the memory its thread freed for that thread only. The console
has eight threads (Textual's input and output, the store's two connections, the
launcher's, workers…), most of them idle after the start: their arenas held about
1.3 MiB of an idle console's resident memory (measured with bench.idle_memory).
Python's own small objects never come from malloc arenas, and the threads allocate
little and seldom, so one shared arena costs no measurable time.

glibc takes the limit from ``MALLOC_ARENA_MAX`` when a process starts, or from
``mallopt`` later. Every careline command replaces itself with its optimized self at
start (:func:`console.core.bytecode.run_optimized`), and that start gets the variable
(:func:`one_arena_environment`): the console, and the other commands too (an import, a
report, the wallboard), which allocate from few threads. The processes they start (the
phone engine, the demo caller, audio probes) go without it. A console started any other
way calls ``mallopt`` through ctypes, whose import alone costs about 0.3 MiB. A limit
the user set is theirs.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping

M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter for the most arenas a process may have."""
ARENA_LIMIT = "MALLOC_ARENA_MAX"
"""The environment variable glibc reads the same limit from when a process starts."""
SET_AT_START = "CARELINE_ONE_ARENA"
"""Beside :data:`ARENA_LIMIT` when careline put it there: for the command it starts alone,
not for what that command starts."""


def one_arena_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` for starting the console with one arena (unchanged if the user set a
    limit of their own)."""
    if ARENA_LIMIT in environ:
        return dict(environ)
    return {**environ, ARENA_LIMIT: "1", SET_AT_START: "1"}


@functools.cache  # the first call reads (and clears) the environment; later ones remember
def limited_at_start() -> bool:
    """Whether glibc took careline's one-arena limit when this process started
    (:func:`one_arena_environment`). The first call also takes the variables out of this
    process's environment: the processes it starts (the engine, the demo caller) go
    without them, as ever."""
    if os.environ.pop(SET_AT_START, None) is None:
        return False
    # The marker alone (copied from a console's environment) is no limit in force.
    return os.environ.pop(ARENA_LIMIT, None) == "1"


@functools.cache  # once a process: the launcher and the app both make sure
def share_one_arena() -> None:
    """Make every thread started from now on allocate from the main arena (glibc only;
    elsewhere nothing changes). Call it before the process starts its threads."""
    if limited_at_start() or sys.platform != "linux" or ARENA_LIMIT in os.environ:
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except AttributeError:  # a libc without mallopt
        return
    mallopt(M_ARENA_MAX, 1)  # musl and others ignore a parameter they do not know
