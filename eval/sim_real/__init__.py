"""Sim versus real: metrics, dynamics gap (replay), calibration, policy parity, synthetic real-like logs, the report."""
