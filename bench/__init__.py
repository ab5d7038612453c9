"""Benchmarks. ``python -m bench.run`` runs them; each prints one JSON line per figure."""
