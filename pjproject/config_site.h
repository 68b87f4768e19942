/*
 * careline's compile-time settings for pjproject (copied to
 * pjlib/include/pj/config_site.h by pjproject/build.py).
 *
 * Each one is here because the engine measured a limit of the default build.
 */

/* Calls one engine holds at once: the local queue, the leg to the agent's
 * station phone, consult calls of attended transfers and, next, a supervisor's
 * monitor leg. pjsua's default (and the PyPI wheel's) is 4. */
#define PJSUA_MAX_CALLS 32

/* DTLS-SRTP keying (RFC 5763/5764), which WebRTC gateways and many SBCs offer
 * alone; without it such an offer is refused (or, unpatched, crashed pjsua). */
#define PJMEDIA_SRTP_HAS_DTLS 1

/* Sockets in the one ioqueue: every call takes an RTP and an RTCP socket, plus
 * the SIP transports and TCP/TLS connections. The default of 64 runs out at
 * about 30 calls or under a burst of INVITEs (100 a second aborted the engine
 * on an ioqueue assertion); 1024 leaves room for 32 calls and bursts. */
#define PJ_IOQUEUE_MAX_HANDLES 1024
