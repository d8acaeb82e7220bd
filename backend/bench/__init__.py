"""Benchmarks: commands that print their figures, never timed tests."""
