# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline qa``: the app (Textual) — the review queue, or the agent's own evaluations.

Thin: it opens the session inside its event loop, shows the queue (or, with
``--mine``, the agent's evaluations) and closes the session when it ends. The
screens own their handlers.
"""

from __future__ import annotations

from console.base_app import BaseApp
from console.qa_view.session import QaSession, SessionOpener


class QaApp(BaseApp):
    """Evaluating calls, or reading one's evaluations."""

    CSS_PATH = "qa.tcss"
    TITLE = "careline qa"

    def __init__(self, open_session: SessionOpener) -> None:
        super().__init__()
        self._open_session = open_session
        self.session: QaSession | None = None

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
