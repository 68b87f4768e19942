# SPDX-License-Identifier: GPL-2.0-or-later
"""What the evaluator's screens share: the session and its desk."""

from __future__ import annotations

from textual.screen import Screen

from console.core.quality.desk import QaDesk
from console.qa_view.session import QaSession


class DeskScreen(Screen[None]):
    """A screen of the evaluator's session (not ``--mine``)."""

    def __init__(self, session: QaSession) -> None:
        super().__init__()
        self.session = session

    @property
    def desk(self) -> QaDesk:
        """The evaluator's desk."""
        assert self.session.desk is not None
        return self.session.desk
