# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine's log lines without logging (sip.engine_log, issue 17): in the engine they
read as ``logging.basicConfig``'s format wrote them; elsewhere they are log records."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from sip import engine_log
from sip.engine_log import logger

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) sip\.example: (.*)$")
"""A line as ``%(asctime)s %(levelname)s %(name)s: %(message)s`` formats it."""


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """The engine's lines, written to a stream as the engine process writes them."""
    stream = io.StringIO()
    engine_log.write_to(stream)
    try:
        yield stream
    finally:
        engine_log.write_to(None)


def test_the_engine_s_lines_have_basic_config_s_format(written: io.StringIO) -> None:
    log = logger("sip.example")
    log.debug("not at INFO")
    log.info("engine listening on %s:%d", "127.0.0.1", 5070)
    log.warning("plain %s")  # no arguments: the message as it is
    log.error("bad %d", "x")  # a mistaken format still says what it could
    lines = written.getvalue().splitlines()
    assert [LINE.match(line).groups() for line in lines] == [  # type: ignore[union-attr]
        ("INFO", "engine listening on 127.0.0.1:5070"),
        ("WARNING", "plain %s"),
        ("ERROR", "bad %d ('x',)"),
    ]
    formatted = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    record = logging.LogRecord("sip.example", logging.INFO, __file__, 1, "m", None, None)
    assert len(lines[0].split(" ", 2)[1]) == len(formatted.format(record).split(" ", 2)[1])


def test_an_exception_is_logged_with_its_traceback(written: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger("sip.example").exception("callback failed for %s", "c-1")
    first, *rest = written.getvalue().splitlines()
    assert LINE.match(first).groups() == ("ERROR", "callback failed for c-1")  # type: ignore[union-attr]
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "RuntimeError: boom"


def test_outside_the_engine_the_lines_are_log_records(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sip.example")
    logger("sip.example").info("hello %s", "there")
    [record] = caplog.records
    assert (record.name, record.levelname, record.getMessage()) == (
        "sip.example",
        "INFO",
        "hello there",
    )
    assert record.filename == "test_engine_log_lines.py"  # the caller, not sip.engine_log
