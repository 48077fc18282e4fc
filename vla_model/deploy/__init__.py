"""Running a policy elsewhere than one torch loop: several robots' frames in one batch, and an ONNX export."""
