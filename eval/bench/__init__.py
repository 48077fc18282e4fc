"""Benchmarks: env speed, training speed and memory, the snapshot pictures."""
