# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine's start reports its library in one log line, and a report that fails never
stops the phone from starting (:func:`sip.library_report.report_at_start`)."""

from __future__ import annotations

import pytest

import sip.library_report as library_report


class Lines:
    """Stands in for the module's logger: keeps each line, formatted."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str, *args: object) -> None:
        """Keep an info line."""
        self.lines.append(message % args)

    def exception(self, message: str, *args: object) -> None:
        """Keep an error line."""
        self.lines.append("error: " + message % args)


def test_a_failing_description_leaves_an_empty_report(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> dict[str, object]:
        raise RuntimeError("no libcrypto")

    lines = Lines()
    monkeypatch.setattr(library_report, "describe", broken)
    monkeypatch.setattr(library_report, "log", lines)
    report = library_report.report_at_start(None, 32, measured=True, clock_rate=8000)
    assert report == {}
    assert lines.lines == ["error: could not describe the phone library", "phone library: "]


def test_a_description_is_returned_and_logged_as_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    facts = {"pjsua2": "2.15.1", "hardened": True, "call_slots": 32, "dtls": True}
    lines = Lines()
    monkeypatch.setattr(library_report, "describe", lambda *_args, **_kwargs: dict(facts))
    monkeypatch.setattr(library_report, "log", lines)
    report = library_report.report_at_start(None, 32, measured=True, clock_rate=8000)
    assert report == facts
    assert lines.lines == [f"phone library: {library_report.summary(facts)}"]
