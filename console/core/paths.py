# SPDX-License-Identifier: GPL-2.0-or-later
"""Where careline keeps its files: packaged defaults and per-user directories."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path, user_log_path, user_runtime_path

_PACKAGE = Path(__file__).resolve().parent.parent


def default_config_file() -> Path:
    """The shipped ``careline.yaml``: inside the wheel, else the source tree's ``config/``."""
    packaged = _PACKAGE / "_defaults" / "careline.yaml"
    if packaged.exists():
        return packaged
    return _PACKAGE.parent / "config" / "careline.yaml"


def data_dir() -> Path:
    """Per-user data directory (the local store lives here), created 0700."""
    path = user_data_path("careline")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """Per-user log directory, created 0700."""
    path = user_log_path("careline")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def runtime_dir() -> Path:
    """Per-user runtime directory for sockets, created 0700.

    Falls back to a uid-named directory under /tmp when XDG_RUNTIME_DIR is
    not set (common over SSH without a systemd session).
    """
    if os.environ.get("XDG_RUNTIME_DIR"):
        return _own_dir(user_runtime_path("careline"))
    return _own_dir(_tmp_runtime())


def _tmp_runtime() -> Path:
    """The runtime directory without XDG_RUNTIME_DIR: short, per user."""
    return Path("/tmp") / f"careline-{os.getuid()}"


def _own_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user")
    return path


SUN_PATH_MAX = 107
"""The longest path a Unix socket can have on Linux (sun_path is 108 bytes with its NUL)."""


def socket_path(name: str) -> Path:
    """Where the socket ``name`` lives: in :func:`runtime_dir` (see :func:`short_socket`)."""
    path = short_socket(runtime_dir() / name)
    _own_dir(path.parent)
    return path


def short_socket(path: Path) -> Path:
    """``path``, unless it is too long for a Unix socket (a deep XDG_RUNTIME_DIR): then a
    name in the short per-user /tmp directory that stays unique to the path it stands for.
    Creates nothing (the doctor asks where the socket would be)."""
    if len(os.fsencode(path)) <= SUN_PATH_MAX:
        return path
    import hashlib  # here: hashlib (OpenSSL) is not needed to paint, nor for most paths

    digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:16]
    return _tmp_runtime() / f"{digest}.sock"
