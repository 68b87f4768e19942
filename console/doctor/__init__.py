# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline doctor``: check what an agent's console needs, and say what to fix.

Every check returns a :class:`Check`; none raises. A check that breaks is
reported as a failure naming only the exception type (no traceback, no
message that could carry a secret). The checks are grouped by concern:
:mod:`.local` (config, store), :mod:`.engine` (socket, registration),
:mod:`.audio`, :mod:`.library` (pjsua2, codecs), :mod:`.hub` (hub, clock) and
:mod:`.tls`; :mod:`.runner` runs them in order. The command line
(:mod:`console.cli.doctor`) prints them; its exit code is 1 when any check
failed, else 0.
"""

from console.doctor.check import Check, Status
from console.doctor.runner import diagnose

__all__ = ["Check", "Status", "diagnose"]
