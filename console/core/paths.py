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
        path = user_runtime_path("careline")
    else:
        path = Path("/tmp") / f"careline-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user")
    return path
