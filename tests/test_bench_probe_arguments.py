# SPDX-License-Identifier: GPL-2.0-or-later
"""bench.monitor_setup hands its probe a random grant id: one in 64 starts with "-"."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.monitor_setup import probe_arguments
from bench.station_probe import argument_parser


@pytest.mark.parametrize("grant_id", ["-Xq3v_k9", "--x", "_a-b", "plain"])
def test_the_probe_reads_any_grant_id(grant_id: str) -> None:
    argv = probe_arguments(5062, 5060, 1.5, Path("/tmp/x.wav"), grant_id)
    args = argument_parser().parse_args(argv)
    assert (args.monitor, args.listen, args.call) == (grant_id, 5062, "sip:queue@127.0.0.1:5060")
