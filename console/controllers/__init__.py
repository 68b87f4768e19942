# SPDX-License-Identifier: GPL-2.0-or-later
"""Controllers: the agent screen's work per concern (patients, guidance, wrap-up,
notes, lost calls, audio, call control, engine effects), over the services.

A controller imports a dialog where it opens it, not at the top of its module: an
idle console does not hold the dialogs an agent may never open (issue 17; checked by
tests/test_idle_console_modules.py). A dialog's first opening costs its import, a
millisecond or two (measured) before a frame."""
