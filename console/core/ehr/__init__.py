# SPDX-License-Identifier: GPL-2.0-or-later
"""The EHR link: a FHIR R4 client with SMART Backend Services sign-in, and what careline
does through it (scheduling first). Nothing here imports Textual; the console loads
this package only when an EHR is configured or the agent books."""
