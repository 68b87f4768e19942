# SPDX-License-Identifier: GPL-2.0-or-later
"""Modal dialogs, each a typed ``ModalScreen[T]``."""
