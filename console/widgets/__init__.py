"""Reusable widgets of the agent console."""
