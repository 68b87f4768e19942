# SPDX-License-Identifier: GPL-2.0-or-later
"""The console process allocates from one malloc arena, whichever thread asks.

glibc gives each thread that allocates an arena of its own (up to eight per core),
and each arena keeps the memory its thread freed for that thread only. The console
has eight threads (Textual's input and output, the store's two connections, the
launcher's, workers…), most of them idle after the start: their arenas held about
1.3 MiB of an idle console's resident memory (measured with bench.idle_memory).
Python's own small objects never come from malloc arenas, and the threads allocate
little and seldom, so one shared arena costs no measurable time.
"""

from __future__ import annotations

import sys

M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter for the most arenas a process may have."""


def share_one_arena() -> None:
    """Make every thread started from now on allocate from the main arena (glibc only;
    elsewhere nothing changes). Call it before the process starts its threads."""
    if sys.platform != "linux":
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except AttributeError:  # a libc without mallopt
        return
    mallopt(M_ARENA_MAX, 1)  # musl and others ignore a parameter they do not know
