# SPDX-License-Identifier: GPL-2.0-or-later
"""The key footer, rebuilt at most once per frame.

Textual's footer rebuilds all its keys (a widget each, styled from scratch)
every time the screen says its bindings changed. At start-up the screen says
so four times in the first frame (pushed, focused, the first calls painted,
the patient pane refreshed), and later a call that rings while the agent
moves focus does the same: each rebuild but the last is thrown away unseen.
This footer coalesces them: however many changes arrive before the next
refresh, the keys are rebuilt once, from the bindings as they are then.

A rebuild also lets go of the keys it replaced. Textual binds each key to the
footer's ``compact`` setting, and the footer keeps the binding (and the key,
with its styles and painted lines) until ``compact`` next changes, which on a
console it never does: every ring, answer and hang-up left the old keys in
memory (``tests/test_footer.py``).
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's footer, rebuilding its keys once for any number of changes in a frame."""

    _rebuild_pending = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Schedule one rebuild after the next refresh, unless one is already waiting."""
        if self._rebuild_pending:
            return
        self._rebuild_pending = True
        self.call_after_refresh(self._rebuild, screen)

    async def recompose(self) -> None:
        """Rebuild the keys, then drop the bindings of the keys just removed: Textual
        drops a binding whose widget has closed when the bound setting is next set."""
        await super().recompose()
        self.mutate_reactive(Footer.compact)

    def _rebuild(self, screen: Screen[object]) -> None:
        self._rebuild_pending = False
        # Textual's own handler decides whether and how to rebuild (it schedules the
        # rebuild after one more refresh: a few milliseconds); it now runs once a frame.
        super().bindings_changed(screen)
