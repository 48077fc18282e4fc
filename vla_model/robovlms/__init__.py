"""Their runs in our terms: a RoboVLMs training JSON as our config, their tensor names as ours, their Lightning
checkpoint read as a stored policy, and a synthetic run in their layout."""
