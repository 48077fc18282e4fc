"""The policy itself: its config, Kosmos-2 backbone, token layouts, heads (ours and RoboVLMs'), how it is built
from a config, and its one-file checkpoint format."""
