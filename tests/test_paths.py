# SPDX-License-Identifier: GPL-2.0-or-later
"""Where careline's sockets go when the runtime directory is deep (pytest-xdist found it)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from console.core.paths import SUN_PATH_MAX, short_socket, socket_path


def test_a_socket_in_a_deep_runtime_dir_moves_to_a_short_unique_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 90) / "run"
    deep.mkdir(parents=True, mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    path = socket_path("supervise-engine.sock")
    assert len(os.fsencode(path)) <= SUN_PATH_MAX
    assert path.parent == Path("/tmp") / f"careline-{os.getuid()}"
    assert socket_path("supervise-engine.sock") == path  # the client finds the engine's
    assert socket_path("engine.sock") != path  # and each name keeps its own
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))  # a real socket fits
    path.unlink()


def test_a_short_path_stays_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "engine.sock"
    assert short_socket(path) == path
