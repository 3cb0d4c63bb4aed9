"""Benchmarks (not tests): run as scripts, e.g. ``python benchmarks/bench_audit.py``."""
