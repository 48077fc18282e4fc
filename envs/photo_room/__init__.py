"""A photo-textured stand-in for the users' real room ("the robot" during development): real photographs on its
walls and floor, textured boxes and bottle, shadows, a webcam's flaws and wheel slip. Its code is apart from the
visual twin's: the twin builder sees only the recordings made here."""
from envs.photo_room.camera import StandInCamera
from envs.photo_room.look import PhotoRoom
from envs.photo_room.slip import wheel_slip

__all__ = ["PhotoRoom", "StandInCamera", "wheel_slip"]
