"""Agents: one protocol (`reset(instruction)`, `act(obs)`) for the VLA policy, the scripted expert and the rest."""
