"""Benchmarks of the local platform (run each with ``python -m benchmarks.<name>``)."""
