"""Benchmarks that run outside `make test` (see bench/README.md)."""
