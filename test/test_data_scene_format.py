"""Scene format: exact round trip, validation, and adding groups to an existing scene."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sky2ground_ros.data.cameras import intrinsics_from_hfov, look_at
from sky2ground_ros.data.scene_format import GeoReference, Scene, SceneWriter, discover_scenes
from sky2ground_ros.views import ViewType

GEO = GeoReference(47.3769, 8.5417, 408.0)


def _frame(rng: np.random.Generator, h: int = 12, w: int = 16):
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    depth = rng.uniform(1.0, 50.0, (h, w)).astype(np.float32)
    eye = rng.normal(0, 100, 3)
    extrinsics = look_at(eye, eye + rng.normal(0, 1, 3) + np.array([1.0, 0, 0]))
    return image, depth, intrinsics_from_hfov(w, h, 60.0), extrinsics


def test_round_trip_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    writer = SceneWriter(tmp_path / "s", GEO, source="synthetic", metadata={"seed": 3})
    expected = {}
    for group in ("satellite", "aerial", "ground"):
        image, depth, K, E = _frame(rng)
        depth[0, 0] = np.nan
        depth[0, 1] = -2.0
        writer.add_frame(group, f"{group}_0", image, K, E, depth, extra={"gsd": 0.5})
        expected[group] = (image, depth, K, E)
    scene = writer.finish()
    assert scene.georef == GEO
    assert scene.metadata == {"seed": 3}
    assert [f.view_type for f in scene.frames] == [
        ViewType.SATELLITE,
        ViewType.AERIAL,
        ViewType.GROUND,
    ]
    for frame in Scene.load(tmp_path / "s").frames:
        image, depth, K, E = expected[frame.group]
        np.testing.assert_array_equal(frame.intrinsics, K)
        np.testing.assert_array_equal(frame.extrinsics, E)
        np.testing.assert_array_equal(Scene.load_image(frame), image)
        stored = Scene.load_depth(frame)
        assert stored[0, 0] == 0 and stored[0, 1] == 0
        np.testing.assert_array_equal(stored[1:], depth[1:])
        assert frame.extra == {"gsd": 0.5}
        np.testing.assert_allclose(E[:, :3] @ frame.center + E[:, 3], 0, atol=1e-9)


def test_groups_are_added_to_existing_scene_and_georef_is_checked(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    image, depth, K, E = _frame(rng)
    first = SceneWriter(tmp_path / "s", GEO)
    first.add_frame("aerial", "a", image, K, E, depth)
    first.finish()
    second = SceneWriter(tmp_path / "s", GEO, source="colmap")
    second.add_frame("real_ground", "g", image, K, E)
    scene = second.finish()
    assert sorted(f.group for f in scene.frames) == ["aerial", "real_ground"]
    real = scene.select(groups=("real_ground",))[0]
    assert real.real and real.view_type == ViewType.GROUND and real.depth_path is None
    assert Scene.load_depth(real) is None
    assert scene.source == "mixed"
    with pytest.raises(ValueError, match="geo-reference"):
        SceneWriter(tmp_path / "s", GeoReference(0.0, 0.0, 0.0))
    assert discover_scenes(tmp_path) == [tmp_path / "s"]


def test_invalid_input_is_rejected(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    image, depth, K, E = _frame(rng)
    writer = SceneWriter(tmp_path / "s", GEO)
    with pytest.raises(ValueError, match="unknown group"):
        writer.add_frame("drone", "x", image, K, E)
    with pytest.raises(ValueError, match="depth shape"):
        writer.add_frame("ground", "x", image, K, E, depth[:-1])
    writer.add_frame("ground", "x", image, K, E)
    writer.finish()
    frames_file = tmp_path / "s" / "ground" / "frames.json"
    obj = json.loads(frames_file.read_text())
    obj["frames"][0]["extrinsics"][0][0] = 2.0
    frames_file.write_text(json.dumps(obj))
    with pytest.raises(ValueError, match="orthonormal"):
        Scene.load(tmp_path / "s")
