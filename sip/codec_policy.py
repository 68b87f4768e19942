# SPDX-License-Identifier: GPL-2.0-or-later
"""The codec policy applied to pjsua2: priorities, and answers that follow our order.

pjmedia (as the wheel is compiled) answers an offer in the *caller's* codec
order among the codecs we enable, so a caller listing PCMU before G.722
would land on PCMU. To answer with our preferred codec among those offered,
the library's priorities are narrowed to that one codec just before pjsua
builds our SDP for the offer, and restored right after:

- a new INVITE: narrowed in ``Endpoint::onSelectAccount`` (called before the
  SDP is made), restored at the call's first state change (the SDP exists by
  then; ``onIncomingCall`` can come before it) or in ``onRejectedIncomingCall``;
- a re-INVITE or UPDATE with an offer: narrowed in ``Call::onCallRxOffer``,
  restored in ``Call::onCallSdpCreated``.

Every step runs on the one engine thread, inside one ``libHandleEvents``
pass, so no other SDP can be built in between; the engine loop restores the
priorities once per turn as well, should a path skip both callbacks.
"""

from __future__ import annotations

from collections.abc import Sequence

import pjsua2 as pj

from sip.codecs import Codec, CodecPolicyError, best_for, offered, resolve
from sip.engine_log import logger

log = logger(__name__)

TOP_PRIORITY = 250
"""pjsua priorities run 1-255 (0 disables); the policy counts down from here."""


def library_codecs(ep: pj.Endpoint) -> list[Codec]:
    """Every audio codec the library has, in its current priority order."""
    return [Codec.parse(str(info.codecId)) for info in ep.codecEnum2()]


def enabled_codecs(ep: pj.Endpoint) -> list[Codec]:
    """The codecs the library would offer now, in order (read back, not assumed)."""
    ranked = [info for info in ep.codecEnum2() if info.priority > 0]
    ranked.sort(key=lambda info: -int(info.priority))
    return [Codec.parse(str(info.codecId)) for info in ranked]


class CodecPolicy:
    """The codecs the engine may use, set as the library's codec priorities."""

    def __init__(self, ep: pj.Endpoint, wanted: Sequence[str], *, allow_risky: bool) -> None:
        """Resolve ``wanted`` against the library; raises ``CodecPolicyError``."""
        self._ep = ep
        self.available = library_codecs(ep)
        self.allowed = resolve(wanted, self.available, allow_risky=allow_risky)
        self._narrowed = True  # so that the first restore() applies the policy
        self.restore()

    def narrow_to_offer(self, sdp: str) -> Codec | None:
        """Enable only our best codec among those ``sdp`` offers; returns it.

        With none of ours offered nothing changes: pjsua then refuses the offer
        (488) and the engine reports which codecs were offered.
        """
        best = best_for(offered(sdp), self.allowed)
        if best is not None and len(self.allowed) > 1:
            self._apply([best])
            self._narrowed = True
        return best

    def restore(self) -> None:
        """Back to the whole policy (cheap when nothing was narrowed)."""
        if self._narrowed:
            self._apply(self.allowed)
            self._narrowed = False

    def _apply(self, enabled: Sequence[Codec]) -> None:
        rank = {codec: TOP_PRIORITY - index for index, codec in enumerate(enabled)}
        for codec in self.available:
            try:
                self._ep.codecSetPriority(codec.id, rank.get(codec, 0))
            except pj.Error as exc:
                log.warning("codec priority of %s: %s", codec.id, exc.reason)


def describe(wanted: Sequence[str], *, allow_risky: bool) -> dict[str, object]:
    """What the policy gives on this machine's library, without starting an engine.

    For ``careline doctor`` (run in a child process: only ``sip`` loads pjsua2):
    ``enabled`` (labels in order) and ``available``, or ``error``.
    """
    from sip.library import destroy_endpoint, endpoint_config
    from sip.settings import EngineSettings

    ep = pj.Endpoint()
    ep.libCreate()
    try:
        ep.libInit(endpoint_config(EngineSettings(log_level=0)))
        available = [codec.label for codec in library_codecs(ep)]
        try:
            CodecPolicy(ep, wanted, allow_risky=allow_risky)
        except CodecPolicyError as exc:
            return {"error": str(exc), "available": available}
        return {"enabled": [codec.label for codec in enabled_codecs(ep)], "available": available}
    finally:
        destroy_endpoint(ep, answers_due=False)  # nothing was sent


if __name__ == "__main__":  # python -m sip.codec_policy [--allow-risky] CODEC...
    import json
    import sys

    args = sys.argv[1:]
    risky = "--allow-risky" in args
    print(json.dumps(describe([a for a in args if a != "--allow-risky"], allow_risky=risky)))
