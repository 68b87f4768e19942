# SPDX-License-Identifier: GPL-2.0-or-later
"""Command palette: every agent action, searchable by name."""

from __future__ import annotations

from functools import partial
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider


@runtime_checkable
class PaletteSource(Protocol):
    """A screen that offers its actions to the palette (the agent screen does)."""

    def palette_entries(self) -> list[tuple[str, str, str]]:
        """(label, action, help) per action."""
        ...


class AgentActions(Provider):
    """Offers the agent screen's actions (the same list as its keys)."""

    def _actions(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        return screen.palette_entries() if isinstance(screen, PaletteSource) else []

    async def discover(self) -> Hits:
        """Everything, when nothing is typed yet."""
        for label, action, help_text in self._actions():
            yield DiscoveryHit(label, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        """Fuzzy match on the action's name."""
        matcher = self.matcher(query)
        for label, action, help_text in self._actions():
            score = matcher.match(label)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(label), partial(self._run, action), help=help_text
                )

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)
