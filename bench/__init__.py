"""Benchmarks: scripts that report figures (median of several runs, with a baseline ratio)."""
