"""Training the policy on episode logs: the windowed dataset, the Lightning module, the run that writes a
checkpoint."""
