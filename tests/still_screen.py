# SPDX-License-Identifier: GPL-2.0-or-later
"""What a Textual app paints, and waiting until it paints nothing more.

On a loaded machine (CI's parallel workers) a widget may follow a change frames
later than a fixed pause allows: a test that reads or snapshots the screen waits
until it is still instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from textual._compositor import Compositor
from textual.app import App
from textual.geometry import Region
from textual.pilot import Pilot


@contextmanager
def painted(app: App[Any]) -> Iterator[list[Region]]:
    """The screen regions the compositor renders while the block runs (and its frames)."""
    regions: list[Region] = []
    compositor = app.screen._compositor
    render_update = Compositor.render_update

    def spy(self: Compositor, *args: Any, **kwargs: Any) -> Any:
        if self is compositor:
            regions.extend(self._dirty_regions)
        return render_update(self, *args, **kwargs)

    Compositor.render_update = spy  # type: ignore[method-assign]
    try:
        yield regions
    finally:
        Compositor.render_update = render_update  # type: ignore[method-assign]


async def until_still(pilot: Pilot[Any], seconds: float = 10) -> None:
    """Let the app run until 0.2 s pass with nothing painted (``seconds`` at most)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        with painted(pilot.app) as regions:
            await pilot.pause(0.2)
        if not regions:
            return
        assert loop.time() < deadline, f"still painting after {seconds} s: {regions}"
