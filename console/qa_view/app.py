# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline qa``: the app (Textual) — the review queue, or the agent's own evaluations.

Thin: it opens the session inside its event loop, shows the queue (or, with
``--mine``, the agent's evaluations) and closes the session when it ends. The
screens own their handlers.
"""

from __future__ import annotations

from textual.app import App
from textual.driver import Driver

from console.crash import fatal_error_without_locals
from console.qa_view.session import QaSession, SessionOpener
from console.terminal_input import quiet_driver


class QaApp(App[int]):
    """Evaluating calls, or reading one's evaluations."""

    CSS_PATH = "qa.tcss"
    TITLE = "careline qa"

    def __init__(self, open_session: SessionOpener) -> None:
        super().__init__()
        self._open_session = open_session
        self.session: QaSession | None = None

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver; on a Linux terminal, one whose input thread sleeps."""
        return quiet_driver(super().get_driver_class())

    def _fatal_error(self) -> None:
        """A crash prints no frame's locals: they hold call facts and answers."""
        fatal_error_without_locals(self)

    async def on_mount(self) -> None:
        """Open the session; the first screen."""
        from console.qa_view.mine_screen import MineScreen
        from console.qa_view.queue_screen import QueueScreen

        self.session = session = await self._open_session()
        await self.push_screen(
            MineScreen(session) if session.desk is None else QueueScreen(session)
        )

    async def on_unmount(self) -> None:
        """Close the store (and the hub link)."""
        if self.session is not None:
            await self.session.close()


def create_qa(open_session: SessionOpener) -> QaApp:
    """The app, shared by the CLI and the tests."""
    return QaApp(open_session)
