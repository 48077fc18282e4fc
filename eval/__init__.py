"""Command-line entry points (rollout, collect, compare, import_real, calibrate, benchmarks) and their logic."""
