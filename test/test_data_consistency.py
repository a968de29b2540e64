"""A generated scene's stored depth maps and poses agree: ground<->aerial, aerial<->satellite."""

from __future__ import annotations

from dataclasses import replace
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from sky2ground_ros.data.cameras import HelixConfig
from sky2ground_ros.data.consistency import reprojection_consistency
from sky2ground_ros.data.scene_format import Frame, Scene
from sky2ground_ros.data.synthetic import SyntheticConfig, render_scene
from sky2ground_ros.views import ViewType


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    config = SyntheticConfig(
        size=96, satellite=4, ground=6, helix=replace(HelixConfig(), positions=4)
    )
    root = render_scene(tmp_path_factory.mktemp("consistency"), 0, 7, config)
    return Scene.load(root)


def _check(a: Frame, b: Frame, extrinsics_b=None, image_b=None, extrinsics_a=None):
    return reprojection_consistency(
        Scene.load_image(a),
        Scene.load_depth(a),
        a.intrinsics,
        a.extrinsics if extrinsics_a is None else extrinsics_a,
        Scene.load_image(b) if image_b is None else image_b,
        Scene.load_depth(b),
        b.intrinsics,
        b.extrinsics if extrinsics_b is None else extrinsics_b,
    )


def _best_pair(scene: Scene, type_a: ViewType, type_b: ViewType, key: str) -> tuple[Frame, Frame]:
    pairs = product(scene.select(type_a), scene.select(type_b))
    return max(pairs, key=lambda ab: getattr(_check(*ab), key))


PAIRS = [(ViewType.GROUND, ViewType.AERIAL), (ViewType.AERIAL, ViewType.SATELLITE)]


@pytest.mark.parametrize(("type_a", "type_b"), PAIRS)
def test_depth_reprojects_onto_consistent_depth(
    scene: Scene, type_a: ViewType, type_b: ViewType
) -> None:
    a, b = _best_pair(scene, type_a, type_b, "consistent")
    forward = _check(a, b)
    assert forward.consistent >= 500, forward
    assert forward.consistent_fraction > 0.98, forward
    assert forward.median_rel_error < 1e-5, forward
    backward = _check(b, a)
    assert backward.consistent >= 20, backward
    assert backward.consistent_fraction > 0.95, backward
    # The check fails for camera B 1 m off along its optical axis or camera A 1 m higher.
    moved = b.extrinsics.copy()
    moved[2, 3] -= 1.0
    assert _check(a, b, extrinsics_b=moved).consistent < forward.consistent * 0.05
    raised = a.extrinsics.copy()
    raised[:, 3] -= raised[:, :3] @ np.array([0.0, 0.0, 1.0])
    assert _check(a, b, extrinsics_a=raised).consistent < forward.consistent * 0.05


@pytest.mark.parametrize(("type_a", "type_b"), PAIRS)
def test_depth_reprojects_onto_matching_colours(
    scene: Scene, type_a: ViewType, type_b: ViewType
) -> None:
    a, b = _best_pair(scene, type_a, type_b, "photometric_points")
    forward = _check(a, b)
    assert forward.photometric_points >= 50, forward
    assert forward.photometric_correlation > 0.7, forward
    assert forward.photometric_error < 0.06, forward
    shifted = np.roll(Scene.load_image(b), 3, axis=1)
    off = _check(a, b, image_b=shifted)
    assert off.photometric_correlation < forward.photometric_correlation - 0.25, off


def test_scene_on_disk_has_all_groups_with_depth(scene: Scene) -> None:
    counts = {vt: len(scene.select(vt)) for vt in ViewType}
    assert counts == {ViewType.GROUND: 6, ViewType.AERIAL: 12, ViewType.SATELLITE: 4}
    for frame in scene.frames:
        depth = Scene.load_depth(frame)
        valid = depth > 0
        assert valid.mean() > (0.3 if frame.view_type == ViewType.GROUND else 0.95)
        assert Path(frame.image_path).is_file()
    sat = scene.select(ViewType.SATELLITE)[0]
    altitude = sat.center[2]
    assert 1000.0 <= altitude <= 2000.0 + 1.0
    np.testing.assert_allclose(sat.intrinsics[0, 0], sat.extra["altitude"] / sat.extra["gsd"])
    ground = scene.select(ViewType.GROUND)
    assert all(0.0 < np.median(Scene.load_depth(f)[-10:]) < 20.0 for f in ground)
