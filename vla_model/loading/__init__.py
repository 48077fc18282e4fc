"""One way a policy loads, from our checkpoint or a RoboVLMs run's: vla_model/loading/sequence.py."""
