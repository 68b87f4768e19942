# SPDX-License-Identifier: GPL-2.0-or-later
"""The careline phone engine: the only package that imports pjsua2.

Importing ``sip`` itself loads nothing native; ``sip.engine`` is the one
module that touches pjsua2 and it is only imported inside the engine process.

What an idle engine loads is kept to what it uses (issue 17,
``tests/test_engine_idle_modules.py``): its modules write ``TYPE_CHECKING = False``
rather than import it from :mod:`typing`, which only type checkers need; value classes
are :mod:`sip.plain`'s, not dataclasses; log lines go through :mod:`sip.engine_log`,
not logging; paths are strings, not pathlib's.
"""
