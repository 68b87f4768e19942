# SPDX-License-Identifier: GPL-2.0-or-later
"""The key footer rebuilds once for any number of binding changes in one frame, and
still shows the keys as they are after the last of them; a rebuild lets go of the keys
it replaced."""

from __future__ import annotations

import gc

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Label
from textual.widgets._footer import FooterKey

from console.widgets.footer import KeyFooter
from tests.console_app import screen_text


class Keys(App[None]):
    """A screen whose "answer" key is usable only while ``ringing``."""

    BINDINGS = [Binding("a", "answer", "Answer"), Binding("x", "other", "Other")]

    def __init__(self) -> None:
        super().__init__()
        self.ringing = False

    def compose(self) -> ComposeResult:
        yield Label("keys")
        yield KeyFooter()

    def check_action(self, action: str, _parameters: tuple[object, ...]) -> bool | None:
        return self.ringing if action == "answer" else True

    def action_answer(self) -> None: ...

    def action_other(self) -> None: ...


async def test_many_changes_in_one_frame_rebuild_the_keys_once() -> None:
    app = Keys()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        footer = app.query_one(KeyFooter)
        original = footer.recompose
        rebuilds = 0

        async def counted() -> None:
            nonlocal rebuilds
            rebuilds += 1
            await original()

        footer.recompose = counted  # type: ignore[method-assign]
        assert "Answer" not in screen_text(app)
        for ringing in (True, False, True, False, True):  # a burst of changes, one frame
            app.ringing = ringing
            app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert rebuilds == 1
        assert "Answer" in screen_text(app)  # the state after the last change

        app.ringing = False  # a change in a later frame is rebuilt too
        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert rebuilds == 2
        assert "Answer" not in screen_text(app)


def _keys_alive() -> tuple[int, int]:
    """(FooterKey widgets in memory, those of them no longer on a screen)."""
    gc.collect()
    keys = [o for o in gc.get_objects() if isinstance(o, FooterKey)]
    return len(keys), sum(1 for key in keys if not key.is_attached)


async def test_a_rebuild_lets_go_of_the_keys_it_replaced() -> None:
    """Textual's footer binds each key to its ``compact`` setting, and the binding keeps
    the key until ``compact`` next changes (never, on a console): every rebuild kept
    every key it replaced, with its styles and painted lines. A console rebuilds the
    footer at every call's ring, answer and end: over a shift, thousands of widgets."""
    app = Keys()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        for ringing in (True, False) * 15:  # 30 rebuilds, one a frame
            app.ringing = ringing
            app.screen.refresh_bindings()
            await pilot.pause()
            await pilot.pause()
        await pilot.pause()
        alive, detached = _keys_alive()
        assert detached == 0
        assert alive == len(app.query(FooterKey))
        assert "Answer" not in screen_text(app)  # still the keys as they are
