"""Benchmarks: env speed, training speed and memory, the policy server under load, the snapshot pictures."""
