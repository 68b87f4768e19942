"""Command palette: every agent action, searchable by name."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from console.screens.agent import AgentScreen


class AgentActions(Provider):
    """Offers the agent screen's actions (the same list as its keys)."""

    def _actions(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        from console.screens.agent import AgentScreen

        if not isinstance(screen, AgentScreen):
            return []
        return [(label, action, help_text) for label, action, help_text in screen.palette_entries()]

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
        screen: AgentScreen = self.screen  # type: ignore[assignment]
        await screen.run_action(action)
