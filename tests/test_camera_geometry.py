"""The one camera model: PyBullet's render and the image-space code (the twin builder) agree pixel for pixel."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from PIL import Image

from envs.appearance import RoomBounds
from envs.camera_geometry import camera_pose, pixel_rays, project_points
from envs.meshes import quad
from envs.robot_config import CameraConfig
from envs.sim import Lighting, Simulation
from eval.twin.geometry import raycast

CAMERA = CameraConfig(position=(0.12, 0.0, 0.42), pitch_deg=-22.0, fov_deg=56.0, width=96, height=54)
BAKED_LIGHT = Lighting(direction=(0.0, 0.0, 1.0), ambient=1.0, diffuse=0.0, specular=0.0)


def test_pybullet_draws_each_pixel_from_the_texel_the_numpy_ray_meets(tmp_path) -> None:
    rng = np.random.default_rng(0)
    texture = np.kron((rng.random((35, 44, 3)) * 255).astype(np.uint8), np.ones((10, 10, 1), np.uint8))
    Image.fromarray(texture).save(tmp_path / "floor.png")
    room = RoomBounds(-1.95, 2.45, -1.7, 1.8, 2.5)
    corners = np.array([[room.x_min, room.y_max, 0], [room.x_max, room.y_max, 0], [room.x_max, room.y_min, 0],
                        [room.x_min, room.y_min, 0]])
    sim = Simulation(240.0)
    try:
        sim.create_body(quad(corners, texture.shape[:2]), None, (0.0, 0.0, 0.0),
                        texture=sim.load_texture(tmp_path / "floor.png"))
        pose = (-0.9, 0.1, 0.2)
        view = camera_pose(CAMERA, pose)
        frame = sim.render(sim.camera_view(view.eye, view.eye + view.forward, view.up, CAMERA.fov_deg, CAMERA.width,
                                           CAMERA.height, CAMERA.near, CAMERA.far), BAKED_LIGHT)
    finally:
        sim.close()
    hits = raycast(view.eye, pixel_rays(CAMERA, view, CAMERA.width, CAMERA.height).reshape(-1, 3), room, [])
    on_floor = np.array([hits.faces[f].skin == "floor" if f >= 0 else False for f in hits.face])
    rows = np.clip((hits.fv * texture.shape[0]).astype(int), 0, texture.shape[0] - 1)
    cols = np.clip((hits.fu * texture.shape[1]).astype(int), 0, texture.shape[1] - 1)
    expected = texture[rows, cols]
    drawn = frame.reshape(-1, 3)
    # away from the texel edges (where rounding may fall either way) every pixel is the texel the ray meets
    inside = on_floor & (np.abs((hits.fv * 350) % 10 - 5) < 4) & (np.abs((hits.fu * 440) % 10 - 5) < 4)
    assert inside.sum() > 1000
    np.testing.assert_array_equal(drawn[inside], expected[inside])


@settings(max_examples=30, deadline=None)
@given(st.floats(-1.0, 1.0), st.floats(-1.0, 1.0), st.floats(-3.0, 3.0))
def test_projecting_a_point_a_pixel_ray_meets_gives_back_that_pixel(x: float, y: float, yaw: float) -> None:
    view = camera_pose(CAMERA, (x, y, yaw))
    rays = pixel_rays(CAMERA, view, CAMERA.width, CAMERA.height)
    rows, cols = np.mgrid[0:CAMERA.height, 0:CAMERA.width]
    points = view.eye + rays * 2.5
    back_rows, back_cols, depth = project_points(CAMERA, view, points, CAMERA.width, CAMERA.height)
    assert np.all(depth > 0)
    np.testing.assert_allclose(back_rows, rows, atol=1e-6)
    np.testing.assert_allclose(back_cols, cols, atol=1e-6)
