"""The Mobile VLA policy: Kosmos-2 + [LRN] token + LSTM head, its config, checkpoints, dataset and training."""
