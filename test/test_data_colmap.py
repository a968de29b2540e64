"""COLMAP converter on a small model this test writes (text and binary, + dense depth maps)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sky2ground_ros.cli.main import main
from sky2ground_ros.data.colmap import convert_colmap_model, read_model
from sky2ground_ros.data.scene_format import GeoReference, Scene
from sky2ground_ros.geo.sim3 import Sim3
from sky2ground_ros.views import ViewType

GEO = GeoReference(35.6586, 139.7454, 40.0)
MODEL_IDS = {"SIMPLE_PINHOLE": 0, "PINHOLE": 1, "SIMPLE_RADIAL": 2, "OPENCV": 4}


def quaternion(rotation: np.ndarray) -> np.ndarray:
    """Hamilton (w, x, y, z) of a rotation matrix, as COLMAP stores it."""
    x, y, z, w = Rotation.from_matrix(rotation).as_quat()
    return np.array([w, x, y, z])


def write_colmap_model(
    model_dir: Path,
    cameras: list[tuple[int, str, int, int, list[float]]],
    images: list[tuple[int, np.ndarray, np.ndarray, int, str]],
    binary: bool,
) -> None:
    """cameras.{txt,bin} and images.{txt,bin} (one fake 2D point per image)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    if not binary:
        cam_lines = ["# Camera list", "# CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]"]
        cam_lines += [
            f"{cid} {model} {w} {h} " + " ".join(repr(float(p)) for p in params)
            for cid, model, w, h, params in cameras
        ]
        (model_dir / "cameras.txt").write_text("\n".join(cam_lines) + "\n")
        img_lines = ["# Image list with two lines of data per image:"]
        for iid, q, t, cid, name in images:
            values = " ".join(repr(float(v)) for v in [*q, *t])
            img_lines += [f"{iid} {values} {cid} {name}", "12.5 3.25 -1"]
        (model_dir / "images.txt").write_text("\n".join(img_lines) + "\n")
        return
    with open(model_dir / "cameras.bin", "wb") as fid:
        fid.write(struct.pack("<Q", len(cameras)))
        for cid, model, w, h, params in cameras:
            fid.write(struct.pack("<iiQQ", cid, MODEL_IDS[model], w, h))
            fid.write(struct.pack(f"<{len(params)}d", *params))
    with open(model_dir / "images.bin", "wb") as fid:
        fid.write(struct.pack("<Q", len(images)))
        for iid, q, t, cid, name in images:
            fid.write(struct.pack("<idddddddi", iid, *q, *t, cid))
            fid.write(name.encode() + b"\x00")
            fid.write(struct.pack("<Q", 1) + struct.pack("<ddq", 12.5, 3.25, -1))


def write_depth_map(path: Path, depth: np.ndarray) -> None:
    """COLMAP dense map: ``width&height&1&`` header then row-major float32."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = depth.shape
    path.write_bytes(f"{w}&{h}&1&".encode() + depth.astype("<f4").tobytes())


SIM = Sim3(
    scale=2.5,
    rotation=Rotation.from_rotvec([0.2, -0.4, 1.1]).as_matrix(),
    translation=np.array([100.0, -50.0, 20.0]),
)


@pytest.fixture
def colmap_workspace(tmp_path: Path) -> dict[str, object]:
    """A 3-image model (PINHOLE, SIMPLE_PINHOLE, undistorted OPENCV) with images + depth."""
    rng = np.random.default_rng(0)
    cameras = [
        (1, "PINHOLE", 40, 30, [50.0, 52.0, 20.5, 14.0]),
        (2, "SIMPLE_PINHOLE", 36, 24, [40.0, 18.0, 12.0]),
        (7, "OPENCV", 40, 30, [45.0, 45.0, 20.0, 15.0, 0.0, 0.0, 0.0, 0.0]),
    ]
    images, depths = [], {}
    for iid, (cid, name) in enumerate([(1, "seq/a.png"), (2, "seq/b.png"), (7, "c.png")], 3):
        rotation = Rotation.from_rotvec(rng.normal(0, 0.5, 3)).as_matrix()
        images.append((iid, quaternion(rotation), rng.normal(0, 3, 3), cid, name))
        w, h = next((c[2], c[3]) for c in cameras if c[0] == cid)
        (tmp_path / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / "images" / name), rng.integers(0, 255, (h, w, 3), np.uint8))
        depth = rng.uniform(2.0, 9.0, (h, w)).astype(np.float32)
        write_depth_map(tmp_path / "depth_maps" / f"{name}.geometric.bin", depth)
        depths[name] = depth
    write_colmap_model(tmp_path / "text", cameras, images, binary=False)
    write_colmap_model(tmp_path / "bin", cameras, images, binary=True)
    return {"root": tmp_path, "cameras": cameras, "images": images, "depths": depths}


def _colmap_projection(camera, image, point: np.ndarray) -> np.ndarray:
    """COLMAP's own pinhole projection (pixel centres at +0.5)."""
    _, model, _, _, p = camera
    fx, fy, cx, cy = (p[0], p[0], p[1], p[2]) if model == "SIMPLE_PINHOLE" else p[:4]
    _, q, t, _, _ = image
    x, y, z = Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix() @ point + t
    return np.array([fx * x / z + cx, fy * y / z + cy])


@pytest.mark.parametrize("kind", ["text", "bin"])
def test_conversion_keeps_projections_and_depth(colmap_workspace, kind: str) -> None:
    root: Path = colmap_workspace["root"]
    scene = convert_colmap_model(
        root / kind,
        root / "images",
        root / f"scene_{kind}",
        "real_ground",
        GEO,
        world_from_model=SIM,
        depth_dir=root / "depth_maps",
    )
    assert [f.name for f in scene.frames] == ["c", "seq__a", "seq__b"]
    assert all(f.view_type == ViewType.GROUND and f.real for f in scene.frames)
    cameras = {c[0]: c for c in colmap_workspace["cameras"]}
    images = {im[4]: im for im in colmap_workspace["images"]}
    rng = np.random.default_rng(1)
    for frame in scene.frames:
        image = images[frame.extra["colmap_name"]]
        camera = cameras[image[3]]
        # A model point projects to the same spot; OpenCV pixel = COLMAP pixel - 0.5.
        for _ in range(5):
            point = rng.normal(0, 1, 3)
            cam = Rotation.from_quat(np.roll(image[1], -1)).as_matrix() @ point + image[2]
            point += (5.0 - cam[2]) * Rotation.from_quat(np.roll(image[1], -1)).as_matrix()[2]
            world = SIM.scale * SIM.rotation @ point + SIM.translation
            pc = frame.extrinsics[:, :3] @ world + frame.extrinsics[:, 3]
            uv = (frame.intrinsics @ pc)[:2] / pc[2]
            np.testing.assert_allclose(uv, _colmap_projection(camera, image, point) - 0.5)
        depth = Scene.load_depth(frame)
        np.testing.assert_allclose(depth, colmap_workspace["depths"][image[4]] * 2.5, rtol=1e-6)
        np.testing.assert_array_equal(Scene.load_image(frame).shape[:2], depth.shape)


def test_text_and_binary_models_are_identical(colmap_workspace) -> None:
    root: Path = colmap_workspace["root"]
    cams_t, imgs_t = read_model(root / "text")
    cams_b, imgs_b = read_model(root / "bin")
    assert cams_t.keys() == cams_b.keys() and imgs_t.keys() == imgs_b.keys()
    for key in cams_t:
        np.testing.assert_array_equal(cams_t[key].params, cams_b[key].params)
        assert cams_t[key].model == cams_b[key].model
    for key in imgs_t:
        np.testing.assert_array_equal(imgs_t[key].extrinsics(), imgs_b[key].extrinsics())
        assert imgs_t[key].name == imgs_b[key].name


def test_distorted_cameras_are_refused(colmap_workspace, tmp_path: Path) -> None:
    root: Path = colmap_workspace["root"]
    image = colmap_workspace["images"][0]
    cameras = [(1, "SIMPLE_RADIAL", 40, 30, [50.0, 20.0, 15.0, 0.01])]
    write_colmap_model(tmp_path / "distorted", cameras, [image], binary=True)
    with pytest.raises(ValueError, match="undistort"):
        convert_colmap_model(tmp_path / "distorted", root / "images", tmp_path / "s", "aerial", GEO)


def test_cli_adds_a_real_group_to_an_existing_scene(colmap_workspace, tmp_path: Path) -> None:
    root: Path = colmap_workspace["root"]
    scene_dir = tmp_path / "scene"
    args = ["convert-colmap", "--model", str(root / "bin"), "--images", str(root / "images")]
    args += ["--scene", str(scene_dir)]
    assert main([*args, "--group", "real_aerial"]) == 2  # a new scene needs a geo-reference
    lat, lon = str(GEO.latitude), str(GEO.longitude)
    assert main([*args, "--group", "real_aerial", "--lat", lat, "--lon", lon]) == 0
    sim_file = tmp_path / "sim3.json"
    sim_file.write_text(
        json.dumps(
            {
                "scale": SIM.scale,
                "rotation": SIM.rotation.tolist(),
                "translation": SIM.translation.tolist(),
            }
        )
    )
    assert main([*args, "--group", "real_ground", "--sim3", str(sim_file)]) == 0
    scene = Scene.load(scene_dir)
    assert scene.georef.latitude == GEO.latitude
    aerial = scene.select(groups=("real_aerial",))
    ground = scene.select(groups=("real_ground",))
    assert len(aerial) == len(ground) == 3
    assert all(f.view_type == ViewType.AERIAL for f in aerial)
    for a, g in zip(aerial, ground, strict=True):
        centre = SIM.scale * SIM.rotation @ a.center + SIM.translation
        np.testing.assert_allclose(g.center, centre, atol=1e-9)
