"""SceneDataset on a generated scene and on the same views round-tripped through COLMAP."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from test_data_colmap import SIM, quaternion, write_colmap_model, write_depth_map

from sky2ground_ros.data.cameras import HelixConfig
from sky2ground_ros.data.colmap import convert_colmap_model
from sky2ground_ros.data.dataset import SceneDataset
from sky2ground_ros.data.samplers import CurriculumSampler, SampleRequest
from sky2ground_ros.data.scene_format import Scene
from sky2ground_ros.data.synthetic import SyntheticConfig, render_scene
from sky2ground_ros.views import ViewType

G, A, S = ViewType.GROUND, ViewType.AERIAL, ViewType.SATELLITE
SIZE = (42, 56)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A generated scene and a scene converted from a COLMAP model of its ground views."""
    root = tmp_path_factory.mktemp("dataset")
    config = SyntheticConfig(
        size=48, satellite=2, ground=4, helix=replace(HelixConfig(), positions=1)
    )
    synthetic = render_scene(root / "synthetic", 0, 11, config)
    scene = Scene.load(synthetic)
    work = root / "colmap_work"
    cameras, images = [], []
    for i, frame in enumerate(scene.select(groups=("ground",)), 1):
        K = frame.intrinsics
        cameras.append(
            (
                i,
                "PINHOLE",
                frame.width,
                frame.height,
                [K[0, 0], K[1, 1], K[0, 2] + 0.5, K[1, 2] + 0.5],
            )
        )
        # model frame = inverse similarity of ENU
        rotation = frame.extrinsics[:, :3] @ SIM.rotation
        translation = (
            frame.extrinsics[:, 3] + frame.extrinsics[:, :3] @ SIM.translation
        ) / SIM.scale
        name = f"{frame.name}.png"
        images.append((i, quaternion(rotation), translation, i, name))
        (work / "images").mkdir(parents=True, exist_ok=True)
        (work / "images" / name).write_bytes(frame.image_path.read_bytes())
        write_depth_map(
            work / "depth" / f"{name}.geometric.bin", Scene.load_depth(frame) / SIM.scale
        )
    write_colmap_model(work / "sparse", cameras, images, binary=True)
    converted = root / "converted"
    convert_colmap_model(
        work / "sparse",
        work / "images",
        converted,
        "real_ground",
        scene.georef,
        world_from_model=SIM,
        depth_dir=work / "depth",
    )
    return synthetic, converted


def test_sample_of_a_generated_scene(scenes: tuple[Path, Path]) -> None:
    synthetic, _ = scenes
    dataset = SceneDataset(synthetic, num_frames=5, image_size=SIZE, view_counts={G: 2, A: 2, S: 1})
    item = dataset[0]
    assert item["images"].shape == (5, 3, *SIZE) and item["images"].dtype == torch.float32
    assert item["images"].min() >= 0.0 and item["images"].max() <= 1.0
    assert item["depths"].shape == (5, *SIZE) and item["point_masks"].dtype == torch.bool
    assert item["world_points"].shape == (5, *SIZE, 3)
    assert item["extrinsics"].shape == (5, 3, 4) and item["intrinsics"].shape == (5, 3, 3)
    assert item["view_types"].tolist() == [0, 0, 1, 1, 2]
    assert item["frame_names"][0].startswith("ground/")
    torch.testing.assert_close(item["extrinsics"][0], torch.eye(3, 4))
    points = item["world_points"][item["point_masks"]]
    torch.testing.assert_close(points.norm(dim=1).mean(), torch.tensor(1.0), rtol=1e-4, atol=0)
    # every valid pixel's point reprojects onto that pixel with the resized intrinsics
    v, u = torch.meshgrid(torch.arange(SIZE[0]), torch.arange(SIZE[1]), indexing="ij")
    for i in range(5):
        E, K = item["extrinsics"][i].double(), item["intrinsics"][i].double()
        cam = item["world_points"][i].double() @ E[:, :3].T + E[:, 3]
        proj = cam @ K.T
        m = item["point_masks"][i]
        assert m.float().mean() > 0.3
        torch.testing.assert_close(proj[m][:, 0] / proj[m][:, 2], u[m].double(), atol=2e-3, rtol=0)
        torch.testing.assert_close(proj[m][:, 1] / proj[m][:, 2], v[m].double(), atol=2e-3, rtol=0)
        torch.testing.assert_close(cam[m][:, 2], item["depths"][i][m].double(), rtol=1e-4, atol=0)


def test_resized_intrinsics_reproject_like_the_originals(scenes: tuple[Path, Path]) -> None:
    synthetic, _ = scenes
    dataset = SceneDataset(synthetic, num_frames=3, image_size=SIZE, view_counts={G: 1, A: 1, S: 1})
    item = dataset[0]
    scene = Scene.load(synthetic)
    frames = {f"{f.group}/{f.name}": f for f in scene.frames}
    ref = item["reference_extrinsics"].numpy()
    scale = float(item["scale"])
    for i, key in enumerate(item["frame_names"]):
        frame = frames[key]
        depth = Scene.load_depth(frame)
        rows, cols = np.nonzero(depth > 0)
        pick = np.random.default_rng(i).choice(len(rows), 50, replace=False)
        uv = np.stack([cols[pick], rows[pick]], axis=1).astype(np.float64)
        cam = (
            np.linalg.inv(frame.intrinsics)
            @ np.vstack([uv.T, np.ones(50)])
            * depth[rows[pick], cols[pick]]
        )
        world = frame.extrinsics[:, :3].T @ (cam - frame.extrinsics[:, 3:])
        normalised = (ref[:, :3] @ world + ref[:, 3:]) / scale
        E, K = item["extrinsics"][i].double().numpy(), item["intrinsics"][i].double().numpy()
        proj = K @ (E[:, :3] @ normalised + E[:, 3:])
        s = np.array([SIZE[1] / frame.width, SIZE[0] / frame.height])
        s = np.full(2, s.max())
        crop = (np.round(np.array([frame.width, frame.height]) * s) - [SIZE[1], SIZE[0]]) // 2
        expected = s * (uv + 0.5) - 0.5 - crop
        np.testing.assert_allclose((proj[:2] / proj[2]).T, expected, atol=1e-3)


def test_colmap_converted_scene_loads_like_the_original(scenes: tuple[Path, Path]) -> None:
    synthetic, converted = scenes
    counts = {G: 3}
    original = SceneDataset(
        synthetic, num_frames=3, image_size=SIZE, view_counts=counts, groups=("ground",)
    )
    colmap = SceneDataset(converted, num_frames=3, image_size=SIZE, view_counts=counts)
    for index in range(3):
        a, b = original[index], colmap[index]
        assert [n.split("/")[1] for n in a["frame_names"]] == [
            n.split("/")[1] for n in b["frame_names"]
        ]
        assert b["frame_names"][0].startswith("real_ground/")
        torch.testing.assert_close(a["images"], b["images"])
        torch.testing.assert_close(a["intrinsics"], b["intrinsics"])
        torch.testing.assert_close(a["extrinsics"], b["extrinsics"], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(a["depths"], b["depths"], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            b["reference_extrinsics"], a["reference_extrinsics"], atol=1e-6, rtol=0
        )


def test_dataloader_with_curriculum_sampler(scenes: tuple[Path, Path]) -> None:
    synthetic, _ = scenes
    dataset = SceneDataset([synthetic], num_frames=4, image_size=SIZE)
    sampler = CurriculumSampler(num_scenes=1, num_frames=4, total_samples=4, seed=0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, sampler=sampler)
    batches = list(loader)
    assert len(batches) == 2
    assert batches[0]["images"].shape == (2, 4, 3, *SIZE)
    first, last = batches[0]["view_types"][0], batches[-1]["view_types"][-1]
    assert (first == A).sum() == 2 and (last == A).sum() == 0
    assert (last == G).sum() == 2 and (last == S).sum() == 2
    request = SampleRequest(0, (1, 0, 3), (0.0, 0.25), seed=1, progress=0.0)
    # the scene has only 2 satellite views: the missing one is filled by an aerial view
    assert dataset[request]["view_types"].tolist() == [0, 1, 2, 2]


def test_invalid_configuration(scenes: tuple[Path, Path]) -> None:
    synthetic, _ = scenes
    with pytest.raises(ValueError, match="multiples of 14"):
        SceneDataset(synthetic, num_frames=3, image_size=(50, 56))
    with pytest.raises(ValueError, match="frames"):
        SceneDataset(synthetic, num_frames=50, image_size=SIZE)
