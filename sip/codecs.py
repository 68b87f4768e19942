# SPDX-License-Identifier: GPL-2.0-or-later
"""The codec policy: which audio codecs calls may use, in which order.

Plain Python (no pjsua2): codec names, the policy resolved against what the
library has, and the SDP arithmetic that makes an answer follow *our* order.

Why a policy at all: pjsua's default order puts Speex first with VAD on.
Speex's own silence suppression sends nothing for 400 ms at a time on a
clean signal (a quiet headset), and a lost first Speex frame after a stream
restart (every hold/resume) makes the decoder run away to full scale for
about a second. G.722 then G.711 have neither problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sip.plain import plain

DEFAULT_CODECS: tuple[str, ...] = ("G722", "PCMU", "PCMA")
"""The policy when ``sip.codecs`` is not set: wideband first, then G.711."""

RISKY = frozenset({"speex"})
"""Codecs allowed only with ``sip.allow_speex_despite_dropouts`` (see the module doc)."""

NARROWBAND = frozenset({"pcmu", "pcma", "gsm", "ilbc", "g729", "amr"})
"""Codecs (lower case) whose every variant samples at 8 kHz."""
NARROWBAND_RATE = 8000
WIDEBAND_RATE = 16000
"""pjsua's default bridge rate: G.722's, and what Opus or wideband Speex is carried at."""

# RTP payload types with a fixed meaning (RFC 3551) that an offer may list
# without an rtpmap line.
_STATIC_PAYLOADS = {
    "0": ("PCMU", 8000),
    "3": ("GSM", 8000),
    "8": ("PCMA", 8000),
    "9": ("G722", 8000),
    "18": ("G729", 8000),
}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9.-]{0,31}(/\d{1,6}(/\d)?)?$", re.ASCII)


class CodecPolicyError(ValueError):
    """The configured codecs cannot be applied (message fit for the user)."""


@plain(frozen=True)
class Codec:
    """An audio codec as the library names it: ``G722/16000/1``."""

    name: str
    clock_rate: int
    channels: int = 1

    @classmethod
    def parse(cls, codec_id: str) -> Codec:
        """From a library codec id (``speex/16000/1``) or an rtpmap (``opus/48000/2``)."""
        parts = codec_id.strip().split("/")
        name = parts[0]
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        rate = int(parts[1]) if len(parts) > 1 and parts[1].isdecimal() else 0
        channels = int(parts[2]) if len(parts) > 2 and parts[2].isdecimal() else 1
        return cls(name, rate, channels)

    @property
    def id(self) -> str:
        """The library's codec id, what ``codecSetPriority`` takes."""
        return f"{self.name}/{self.clock_rate}/{self.channels}"

    @property
    def label(self) -> str:
        """``G722/16000`` (channels only when not mono): for people."""
        text = f"{self.name}/{self.clock_rate}"
        return text if self.channels == 1 else f"{text}/{self.channels}"

    def fact(self) -> dict[str, object]:
        """As a protocol object."""
        return {"name": self.name, "clock_rate": self.clock_rate, "channels": self.channels}

    def matches(self, other: Codec) -> bool:
        """The same codec, as an SDP offer writes it and as the library names it.

        G.722 is the one codec whose RTP clock (8000, RFC 3551) differs from
        its sampling rate (16000, the library's name), so its rate is not compared.
        """
        if self.name.lower() != other.name.lower():
            return False
        if self.name.lower() == "g722":
            return True
        return self.clock_rate == other.clock_rate and self.channels == other.channels


def bridge_rate(wanted: Sequence[str]) -> int:
    """The conference bridge's clock rate for the codec policy ``wanted``.

    8 kHz when every entry names a codec that samples at 8 kHz (G.711, GSM, iLBC, or a
    name with ``/8000``): calls, the agent's audio and recordings then meet with no
    resampling, which was half of the engine's CPU on a G.711 call. Otherwise
    16 kHz, pjsua's default, so that a G.722 call keeps its band (G.711 calls are
    then resampled both ways, with pjsua's large filter).
    """
    if not wanted:
        return WIDEBAND_RATE
    for entry in wanted:
        name, _, rest = entry.partition("/")
        if name.lower() not in NARROWBAND and rest.split("/")[0] != str(NARROWBAND_RATE):
            return WIDEBAND_RATE
    return NARROWBAND_RATE


def check_name(entry: str) -> str:
    """Raise ValueError unless ``entry`` looks like a codec name (``PCMU``, ``speex/8000``)."""
    if not _NAME.match(entry):
        raise ValueError(f"{entry!r} is not a codec name (e.g. G722, PCMU, opus/48000/2)")
    return entry


def _selects(entry: str, codec: Codec) -> bool:
    """Whether a policy entry (``speex``, ``speex/8000``, ``opus/48000/2``) names ``codec``."""
    parts = entry.split("/")
    if parts[0].lower() != codec.name.lower():
        return False
    if len(parts) > 1 and int(parts[1]) != codec.clock_rate:
        return False
    return not (len(parts) > 2 and int(parts[2]) != codec.channels)


def resolve(
    wanted: Sequence[str], available: Iterable[Codec], *, allow_risky: bool = False
) -> list[Codec]:
    """The library's codecs that ``wanted`` names, in the policy's order.

    An entry without a rate (``speex``) takes every rate the library has, in
    the library's order. Raises :class:`CodecPolicyError` for an entry that
    names nothing here (the message lists what the library has), for Speex
    without ``allow_risky``, and for an empty result.
    """
    have = list(available)
    chosen: list[Codec] = []
    for entry in wanted:
        check_name(entry)
        if entry.split("/")[0].lower() in RISKY and not allow_risky:
            raise CodecPolicyError(
                f"sip.codecs: {entry} drops out on quiet audio (its silence suppression) and "
                "runs away to full-scale noise after a hold; set "
                "sip.allow_speex_despite_dropouts: true to use it anyway"
            )
        found = [codec for codec in have if _selects(entry, codec)]
        if not found:
            names = ", ".join(codec.label for codec in have) or "none"
            raise CodecPolicyError(
                f"sip.codecs: this engine has no codec {entry!r}; it has: {names}"
            )
        chosen += [codec for codec in found if codec not in chosen]
    if not chosen:
        raise CodecPolicyError("sip.codecs is empty: name at least one codec (e.g. G722, PCMU)")
    return chosen


def offered(sdp: str) -> list[Codec]:
    """The audio codecs of the first ``m=audio`` section of ``sdp``, in its order.

    ``telephone-event`` (DTMF) and payloads with no known meaning are left out.
    """
    payloads: list[str] = []
    rtpmap: dict[str, Codec] = {}
    in_audio = False
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if payloads:
                break  # only the first audio section
            in_audio = line.startswith("m=audio ")
            if in_audio:
                payloads = line.split()[3:]
        elif in_audio and line.startswith("a=rtpmap:"):
            pt, _, spec = line.removeprefix("a=rtpmap:").partition(" ")
            rtpmap[pt] = Codec.parse(spec)
    codecs: list[Codec] = []
    for pt in payloads:
        codec = rtpmap.get(pt)
        if codec is None and pt in _STATIC_PAYLOADS:
            codec = Codec(*_STATIC_PAYLOADS[pt])
        if codec is not None and codec.name.lower() != "telephone-event":
            codecs.append(codec)
    return codecs


def best_for(offer: Sequence[Codec], allowed: Sequence[Codec]) -> Codec | None:
    """Our most preferred allowed codec that the offer lists, or None."""
    for codec in allowed:
        if any(codec.matches(candidate) for candidate in offer):
            return codec
    return None


def codec_mismatch(offer: Sequence[Codec], allowed: Sequence[Codec]) -> str:
    """Why ``offer`` cannot be answered, in words ("" when it can): both codec lists.

    The offer's names come from the caller: cut to a few, each at most 32 characters.
    """
    if best_for(offer, allowed) is not None:
        return ""
    theirs = ", ".join(codec.label[:32] for codec in offer[:8]) or "no audio codec"
    ours = ", ".join(codec.label for codec in allowed)
    return f"the caller offered only {theirs}; sip.codecs allows {ours}"


def sdp_body(message: str) -> str:
    """The body of a raw SIP message (empty when it has none); bare line feeds work too."""
    head, sep, body = message.partition("\r\n\r\n")
    return body if sep else message.partition("\n\n")[2]
