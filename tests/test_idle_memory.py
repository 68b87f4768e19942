# SPDX-License-Identifier: GPL-2.0-or-later
"""What an idle console holds (issue 17: console RSS near a minimal Textual app).

A real ``careline run`` in a terminal, phone online, read from /proc: its threads
(Textual's input and output, the store's two connections, the launcher's and the
workers') allocate from the main malloc arena, not each from an arena of its own
(glibc's default: up to 8 per core, each keeping its own free memory).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.common import console_and_engine, isolated_home, tmux_console
from tests.support import free_udp_port

THREAD_HEAP = 64 << 20
"""The size (and alignment) of the heap glibc maps for each thread arena on 64-bit."""


def thread_arenas(pid: int) -> int:
    """How many glibc thread arenas process ``pid`` has: each is a 64 MiB-aligned mapping,
    read-write up to what it uses and inaccessible for the rest of its 64 MiB."""
    spans = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split()
        start, end = (int(bound, 16) for bound in fields[0].split("-"))
        spans.append((start, end, fields[1], len(fields) > 5))
    count = 0
    for index, (start, end, mode, named) in enumerate(spans):
        if named or start % THREAD_HEAP or not mode.startswith("rw"):
            continue
        reserved = end
        rest = spans[index + 1 : index + 2]
        if rest and rest[0][0] == end and rest[0][2].startswith("---") and not rest[0][3]:
            reserved = rest[0][1]
        count += reserved - start == THREAD_HEAP
    return count


def test_an_idle_console_s_threads_share_one_malloc_arena() -> None:
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{free_udp_port()}"
        with tmux_console([sys.executable, "-m", "console", "run"], env, 0.5) as session:
            session.wait_for("phone online", 30)
            time.sleep(1)  # what starts behind the first frames has started
            console, engine = console_and_engine(env["HOME"])
            threads = len(list(Path(f"/proc/{console}/task").iterdir()))
            arenas = {pid: thread_arenas(pid) for pid in (console, engine)}
    assert threads > 4  # the console's threads ran
    assert arenas[engine] > 0  # the engine keeps glibc's default: the reading finds arenas
    assert arenas[console] == 0  # 7 before the console shared one
