# SPDX-License-Identifier: GPL-2.0-or-later
"""The tests' tmux helper leaves nothing behind: killing a session removes its server's
socket too (tmux 3.3 leaves it, and the suite left some two hundred a run in /tmp)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.tmux import TmuxSession


def test_a_killed_session_leaves_no_socket() -> None:
    session = TmuxSession(["sleep", "30"], dict(os.environ))
    socket = Path(session.socket_path())
    assert socket.is_socket()
    session.kill()
    assert not socket.exists()
