"""Sim rollouts and demo collection: settings, the parallel runner, results.json, videos, statistics."""
