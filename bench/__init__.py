"""Benchmarks: each hot path of the app against the fastest way this machine does the same work,
measured alternately in one run. `make bench` runs them all; `python -m bench --help` says how."""
