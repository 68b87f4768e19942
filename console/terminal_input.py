# SPDX-License-Identifier: GPL-2.0-or-later
"""Textual's Linux terminal driver, with an input thread that sleeps until there is input.

Textual's own input thread wakes ten times a second (a select with a 0.1 s
timeout) for two reasons: to see whether the app is closing, and to let a lone
Esc that has waited ``ESCDELAY`` become a key. On an idle console that was
1.2 ms of CPU a second, a third of all it spent with a call on hold (issue 17).

:class:`QuietLinuxDriver` waits with no timeout while nothing is pending: the
app's exit wakes it through a pipe, and for a short while after each input it
polls as Textual does, so an Esc still arrives ``ESCDELAY`` after it was pressed.
"""

from __future__ import annotations

import os
import selectors
import threading
import time
from codecs import getincrementaldecoder
from contextlib import suppress
from typing import Any

from textual import constants
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

POLL_S = 0.1
"""How often the thread looks at the parser's timeouts after an input (Textual's step)."""
AWAKE_AFTER_INPUT_S = constants.ESCAPE_DELAY + 0.5
"""How long it keeps looking after the last input: longer than any timeout the parser
sets (Esc waits ``ESCDELAY``, 100 ms unless the environment says otherwise)."""


class WakingEvent(threading.Event):
    """The driver's exit event: setting it also wakes a thread waiting on :attr:`fileno`."""

    def __init__(self) -> None:
        super().__init__()
        self.fileno, self._wake = os.pipe()  # not inherited by child processes
        os.set_blocking(self.fileno, False)
        os.set_blocking(self._wake, False)

    def set(self) -> None:
        """Set the event and wake the input thread."""
        super().set()
        with suppress(OSError):  # closed with the driver: nobody is waiting
            os.write(self._wake, b"x")

    def drain(self) -> None:
        """Read the wake-ups already written (the thread does, each time it wakes)."""
        with suppress(OSError):
            os.read(self.fileno, 4096)

    def close(self) -> None:
        """Close the pipe."""
        for fd in (self.fileno, self._wake):
            with suppress(OSError):
                os.close(fd)


class QuietLinuxDriver(LinuxDriver):
    """:class:`LinuxDriver` whose input thread does not poll while nothing is pending."""

    def __init__(self, app: App[Any], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.exit_event: WakingEvent = WakingEvent()

    def close(self) -> None:
        """Close the wake pipe too."""
        super().close()
        self.exit_event.close()

    def _run_input_thread(self) -> None:
        # Textual's wrapper calls the app's panic, which exits with 0; a failure here
        # ends the app as any crash does (exit code 1, no frame's locals printed).
        try:
            self.run_input_thread()
        except Exception as error:
            self._loop.call_soon_threadsafe(self._app._handle_exception, error)

    def run_input_thread(self) -> None:
        """Read the terminal and dispatch its events until the exit event is set."""
        exit_event = self.exit_event
        tty = self.fileno
        parser = XTermParser(self._debug)
        # Bytes that are not UTF-8 (an 8-bit meta key, a paste in another locale) read
        # as U+FFFD: Textual's strict decoder raised, and its thread took the app down.
        decode = getincrementaldecoder("utf-8")(errors="replace").decode
        selector = selectors.SelectSelector()
        selector.register(tty, selectors.EVENT_READ)
        selector.register(exit_event.fileno, selectors.EVENT_READ)

        def read(final: bool = False) -> None:
            data = os.read(tty, 4096)
            if not data:  # the input ended (a pipe, a closed terminal): stop watching it
                selector.unregister(tty)
                return
            # Never feed the parser no text: that is the end of input to it, and it
            # closes. A read can decode to none: half of a character split between reads.
            text = decode(data, final=final)
            if text:
                for event in parser.feed(text):
                    self.process_message(event)

        awake_until = 0.0
        try:
            while not exit_event.is_set():
                timeout = POLL_S if time.monotonic() < awake_until else None
                ready = {key.fd for key, _ in selector.select(timeout)}
                if exit_event.fileno in ready:
                    exit_event.drain()
                if tty in ready:
                    awake_until = time.monotonic() + AWAKE_AFTER_INPUT_S
                    read()
                for event in parser.tick():  # a lone Esc that has waited long enough
                    self.process_message(event)
            # What was typed as the app closed is still parsed, as by Textual's thread.
            selector.unregister(exit_event.fileno)
            if selector.select(POLL_S):
                read(final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):  # the end of input: the parser closes
                    pass
            except (EOFError, ParseError):
                pass


def quiet_driver(chosen: type[Driver]) -> type[Driver]:
    """:class:`QuietLinuxDriver` where Textual chose its Linux driver (a terminal on
    Linux, no ``TEXTUAL_DRIVER`` in the environment), else Textual's choice."""
    return QuietLinuxDriver if chosen is LinuxDriver else chosen
