"""``careline qa``: evaluating calls in the terminal (Textual), and an agent's own evaluations."""
