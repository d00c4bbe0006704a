"""The benchmark: `make bench` (`python -m bench.run`). See docs/benchmark.md."""
