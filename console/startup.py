# SPDX-License-Identifier: GPL-2.0-or-later
"""Starting behind the first frame: the launcher's preparation, in a thread.

``careline run`` and ``demo`` paint the startup screen (:mod:`console.screens.startup`)
first; reading and validating the configuration, checking the store, loading the
demo's patients and importing the agent screen's modules take most of a second, and
run here, in a thread, while that frame stands. The phone engine is started from
the event loop as soon as the launcher knows its wiring, so it boots (in its own
process) beside the rest.

If the agent quits meanwhile, nothing more is started: the thread stops at its next
step (:class:`LaunchAbandonedError`), and no engine is left behind for a console
that is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App

    from console.core.config import CarelineConfig
    from console.screens.startup import StartupScreen
    from console.wiring import AppWiring

Step = Callable[[str], None]
"""Says what the launcher is doing now (on the startup screen)."""
Ready = Callable[["CarelineConfig", "AppWiring"], None]
"""Called by the launcher as soon as it knows the configuration and wiring, before the
rest of its work (the demo's patients): the phone engine starts then."""
Prepare = Callable[[Step, Ready], tuple["CarelineConfig", "AppWiring"]]
"""The launcher's part of starting: read the configuration, check the store, start
the demo's callers… and return the configuration and wiring. Raises what stops the
launch (``ConfigError``, ``StoreError``…), which the launcher reports once the
terminal is back."""


class LaunchAbandonedError(Exception):
    """The agent quit while careline was starting: the launcher's thread stops."""


def load_agent_screen() -> None:
    """Import the agent screen and everything it builds (a fifth of a second of
    imports), so that the event loop does not stop for them."""
    import console.hub_link
    import console.idle
    import console.screens.agent
    import console.services  # noqa: F401


class Preparation:
    """One run of a launcher's :data:`Prepare` behind ``screen``, for ``app``.

    ``configure`` takes the configuration and wiring in the event loop (and starts
    the engine); ``closing`` says whether the app is going away.
    """

    def __init__(
        self,
        app: App[int],
        screen: StartupScreen,
        *,
        configure: Callable[[CarelineConfig, AppWiring], None],
        closing: Callable[[], bool],
    ) -> None:
        self.app = app
        self.screen = screen
        self.configure = configure
        self.closing = closing
        self.configured = False

    async def run(self, prepare: Prepare) -> tuple[CarelineConfig, AppWiring]:
        """Run ``prepare`` and the agent screen's imports in a thread; raises what
        ``prepare`` raises, or :class:`LaunchAbandonedError`."""

        def work() -> tuple[CarelineConfig, AppWiring]:
            prepared = prepare(self.step, self.ready)
            if not self.configured:
                self.ready(*prepared)
            self.step("Loading the agent screen…")
            load_agent_screen()
            return prepared

        return await asyncio.to_thread(work)

    def step(self, text: str) -> None:
        """Say ``text`` on the startup screen; the thread does not wait for the frame."""
        if self.closing():
            raise LaunchAbandonedError
        self.screen.post_message(self.screen.Step(text))

    def ready(self, config: CarelineConfig, wiring: AppWiring) -> None:
        """Hand the configuration and wiring to the app (in the event loop)."""
        import console.idle  # noqa: F401  (here, not in the event loop: configure needs it)

        def unless_closing() -> bool:
            if self.closing():
                return False
            self.configure(config, wiring)
            return True

        try:
            carried_out = self.app.call_from_thread(unless_closing)
        except RuntimeError:  # the app is not running any more
            carried_out = False
        if not carried_out:
            raise LaunchAbandonedError
        self.configured = True
