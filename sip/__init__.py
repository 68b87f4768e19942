# SPDX-License-Identifier: GPL-2.0-or-later
"""The careline phone engine: the only package that imports pjsua2.

Importing ``sip`` itself loads nothing native; ``sip.engine`` is the one
module that touches pjsua2 and it is only imported inside the engine process.
"""
