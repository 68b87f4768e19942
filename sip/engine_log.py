# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine's Python log lines, without :mod:`logging` in the engine process (issue 17).

Each module of ``sip`` logs through ``log = logger(__name__)`` (``debug``, ``info``,
``warning``, ``error``, ``exception``, with ``%`` arguments, as a logging.Logger).
Until :func:`write_to` is called, a line goes to ``logging.getLogger(name)``, imported
then: in the console, a test or a script the lines are ordinary log records. The
engine process (:func:`sip.server.serve`) calls :func:`write_to` instead of
``logging.basicConfig``: each line is written to its log as basicConfig's format
wrote it (``2026-03-02 09:15:04,120 WARNING sip.calls: …``), and the engine never
loads logging (with ``traceback``, ``textwrap``, ``string``: 0.5 MiB of an
idle engine) for a handful of lines.
"""

from __future__ import annotations

import sys
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
_NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR"}


class _Lines:
    """Where lines go once :func:`write_to` has been called."""

    stream: TextIO | None = None
    level = INFO
    lock = threading.Lock()


def write_to(stream: TextIO | None, level: int = INFO) -> None:
    """Write the lines of ``level`` and above to ``stream``, formatted, from now on
    (None: to :mod:`logging` again)."""
    _Lines.stream = stream
    _Lines.level = level


class Logger:
    """One module's log (see the module's docstring)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def debug(self, message: str, *args: object) -> None:
        """Log at DEBUG."""
        self._line(DEBUG, message, args)

    def info(self, message: str, *args: object) -> None:
        """Log at INFO."""
        self._line(INFO, message, args)

    def warning(self, message: str, *args: object) -> None:
        """Log at WARNING."""
        self._line(WARNING, message, args)

    def error(self, message: str, *args: object) -> None:
        """Log at ERROR."""
        self._line(ERROR, message, args)

    def exception(self, message: str, *args: object) -> None:
        """Log at ERROR with the exception being handled and its traceback."""
        self._line(ERROR, message, args, exc_info=True)

    def _line(
        self, level: int, message: str, args: tuple[object, ...], exc_info: bool = False
    ) -> None:
        stream = _Lines.stream
        if stream is None:
            import logging

            logging.getLogger(self.name).log(level, message, *args, exc_info=exc_info, stacklevel=3)
            return
        if level < _Lines.level:
            return
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        text = f"{stamp},{int(now * 1000) % 1000:03d} {_NAMES[level]} {self.name}: "
        try:
            text += message % args if args else message
        except (TypeError, ValueError):
            text += f"{message} {args!r}"
        if exc_info and sys.exc_info()[0] is not None:
            import traceback

            text += "\n" + traceback.format_exc().rstrip("\n")
        with _Lines.lock:
            try:
                stream.write(text + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass  # a log that cannot be written must not stop the engine


def logger(name: str) -> Logger:
    """The log of module ``name`` (``logger(__name__)``)."""
    return Logger(name)
