"""Modal dialogs, each a typed ``ModalScreen[T]``."""
