"""Benchmark suite (`uv run python -m bench`); never part of the test run. See BENCHMARKS.md."""
