"""What a policy holds: whether its features carry the frame, whether its actions follow the instruction, and its
size and training memory."""
