"""COLMAP sparse models (and dense depth maps) -> the scene format.

Why our own reader: ``pycolmap`` is the maintained reader but ships as a ~38 MB binary wheel
(the whole COLMAP library with Ceres) to parse two small files; the text and binary layouts
of ``cameras`` / ``images`` are documented and stable (COLMAP "Output Format": little-endian,
``images`` unchanged by the rig/frame additions), so a ~150-line reader is the lighter
dependency. Only what the conversion needs is read: cameras, image poses and names (the 2D
observations are skipped, ``points3D`` is not read).

Conventions handled here:

* COLMAP poses are world-to-camera with the same camera axes as OpenCV; the quaternion is
  Hamilton ``(qw, qx, qy, qz)``.
* COLMAP puts the centre of the top-left pixel at (0.5, 0.5); the scene format (OpenCV) puts
  it at (0, 0), so the principal point moves by -0.5 px.
* The model's world frame is arbitrary: pass the similarity ``world_from_model`` (a
  `geo.sim3.Sim3`, e.g. from geo-registration with ``colmap model_aligner`` or
  `geo.sim3.estimate_sim3`) to bring it into the scene's ENU metres.
* Only pinhole cameras are converted (``SIMPLE_PINHOLE``, ``PINHOLE``, or a distortion model
  whose distortion parameters are all zero); undistort first (``colmap image_undistorter``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sky2ground_ros.data.scene_format import GeoReference, Scene, SceneWriter
from sky2ground_ros.geo.sim3 import Sim3

CAMERA_MODELS: dict[int, tuple[str, int]] = {
    0: ("SIMPLE_PINHOLE", 3),
    1: ("PINHOLE", 4),
    2: ("SIMPLE_RADIAL", 4),
    3: ("RADIAL", 5),
    4: ("OPENCV", 8),
    5: ("OPENCV_FISHEYE", 8),
    6: ("FULL_OPENCV", 12),
    7: ("FOV", 5),
    8: ("SIMPLE_RADIAL_FISHEYE", 4),
    9: ("RADIAL_FISHEYE", 5),
    10: ("THIN_PRISM_FISHEYE", 12),
    11: ("RAD_TAN_THIN_PRISM_FISHEYE", 16),
    12: ("SIMPLE_DIVISION", 4),
    13: ("DIVISION", 5),
    14: ("SIMPLE_FISHEYE", 3),
    15: ("FISHEYE", 4),
    16: ("EUCM", 6),
    17: ("EQUIRECTANGULAR", 2),
}
"""COLMAP camera model id -> (name, number of parameters)."""

_MODEL_IDS = {name: (mid, n) for mid, (name, n) in CAMERA_MODELS.items()}
_SINGLE_FOCAL = {"SIMPLE_PINHOLE", "SIMPLE_RADIAL", "RADIAL", "SIMPLE_DIVISION"}
_PINHOLE_WHEN_UNDISTORTED = {
    "SIMPLE_PINHOLE",
    "PINHOLE",
    "SIMPLE_RADIAL",
    "RADIAL",
    "OPENCV",
    "FULL_OPENCV",
    "SIMPLE_DIVISION",
    "DIVISION",
}


@dataclass(frozen=True)
class ColmapCamera:
    """One entry of ``cameras.txt`` / ``cameras.bin``."""

    camera_id: int
    model: str
    width: int
    height: int
    params: np.ndarray

    def intrinsics(self) -> np.ndarray:
        """OpenCV-convention 3x3 intrinsics; raises for cameras with lens distortion."""
        if self.model not in _PINHOLE_WHEN_UNDISTORTED:
            raise ValueError(f"camera {self.camera_id}: {self.model} is not a pinhole model")
        n_focal = 1 if self.model in _SINGLE_FOCAL else 2
        extra = self.params[n_focal + 2 :]
        if np.any(extra != 0):
            raise ValueError(
                f"camera {self.camera_id}: {self.model} has distortion {extra.tolist()}; "
                "undistort the images first (colmap image_undistorter)"
            )
        fx = self.params[0]
        fy = self.params[1] if n_focal == 2 else fx
        cx, cy = self.params[n_focal], self.params[n_focal + 1]
        return np.array([[fx, 0.0, cx - 0.5], [0.0, fy, cy - 0.5], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class ColmapImage:
    """One registered image of ``images.txt`` / ``images.bin`` (2D points skipped)."""

    image_id: int
    qvec: np.ndarray
    tvec: np.ndarray
    camera_id: int
    name: str

    def extrinsics(self) -> np.ndarray:
        """World-to-camera ``[R|t]`` in the model's frame."""
        return np.concatenate([quaternion_to_rotation(self.qvec), self.tvec[:, None]], axis=1)


def quaternion_to_rotation(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a Hamilton quaternion ``(w, x, y, z)`` (normalised first)."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _data_lines(path: Path) -> list[str]:
    """Non-comment lines of a COLMAP text file (blank lines kept: images.txt pairs lines)."""
    return [line.rstrip("\n") for line in path.read_text().splitlines() if not line.startswith("#")]


def read_cameras_text(path: Path) -> dict[int, ColmapCamera]:
    """Parse ``cameras.txt``."""
    cameras = {}
    for line in _data_lines(path):
        if not line.strip():
            continue
        fields = line.split()
        cam_id, model = int(fields[0]), fields[1]
        if model not in _MODEL_IDS:
            raise ValueError(f"{path}: unknown camera model {model}")
        params = np.array([float(v) for v in fields[4:]])
        if len(params) != _MODEL_IDS[model][1]:
            raise ValueError(f"{path}: camera {cam_id} has {len(params)} params for {model}")
        cameras[cam_id] = ColmapCamera(cam_id, model, int(fields[2]), int(fields[3]), params)
    return cameras


def read_images_text(path: Path) -> dict[int, ColmapImage]:
    """Parse ``images.txt`` (two lines per image; the 2D points line is skipped)."""
    lines = _data_lines(path)
    images = {}
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        fields = lines[i].split(maxsplit=9)
        image_id = int(fields[0])
        qvec = np.array([float(v) for v in fields[1:5]])
        tvec = np.array([float(v) for v in fields[5:8]])
        images[image_id] = ColmapImage(image_id, qvec, tvec, int(fields[8]), fields[9].strip())
        i += 2
    return images


def _read(fid: BinaryIO, fmt: str) -> tuple:
    """Unpack one little-endian struct."""
    size = struct.calcsize("<" + fmt)
    data = fid.read(size)
    if len(data) != size:
        raise ValueError("truncated COLMAP binary file")
    return struct.unpack("<" + fmt, data)


def read_cameras_binary(path: Path) -> dict[int, ColmapCamera]:
    """Parse ``cameras.bin``."""
    cameras = {}
    with open(path, "rb") as fid:
        (count,) = _read(fid, "Q")
        for _ in range(count):
            cam_id, model_id, width, height = _read(fid, "iiQQ")
            if model_id not in CAMERA_MODELS:
                raise ValueError(f"{path}: unknown camera model id {model_id}")
            name, n = CAMERA_MODELS[model_id]
            params = np.array(_read(fid, "d" * n))
            cameras[cam_id] = ColmapCamera(cam_id, name, width, height, params)
    return cameras


def read_images_binary(path: Path) -> dict[int, ColmapImage]:
    """Parse ``images.bin`` (2D observations skipped)."""
    images = {}
    with open(path, "rb") as fid:
        (count,) = _read(fid, "Q")
        for _ in range(count):
            image_id, qw, qx, qy, qz, tx, ty, tz, cam_id = _read(fid, "idddddddi")
            name = bytearray()
            while (ch := fid.read(1)) != b"\x00":
                if not ch:
                    raise ValueError(f"{path}: truncated image name")
                name += ch
            (num_points,) = _read(fid, "Q")
            fid.seek(24 * num_points, 1)
            qvec, tvec = np.array([qw, qx, qy, qz]), np.array([tx, ty, tz])
            images[image_id] = ColmapImage(image_id, qvec, tvec, cam_id, name.decode("utf-8"))
    return images


def read_model(model_dir: str | Path) -> tuple[dict[int, ColmapCamera], dict[int, ColmapImage]]:
    """Cameras and images of a sparse model directory (binary preferred, as COLMAP does)."""
    model_dir = Path(model_dir)
    readers: dict[str, tuple[Callable, Callable]] = {
        ".bin": (read_cameras_binary, read_images_binary),
        ".txt": (read_cameras_text, read_images_text),
    }
    for ext, (read_cameras, read_images) in readers.items():
        if (model_dir / f"cameras{ext}").is_file() and (model_dir / f"images{ext}").is_file():
            return read_cameras(model_dir / f"cameras{ext}"), read_images(
                model_dir / f"images{ext}"
            )
    raise FileNotFoundError(f"no cameras/images .bin or .txt in {model_dir}")


def read_depth_map(path: str | Path) -> np.ndarray:
    """A COLMAP dense map (``width&height&channels&`` header + float32 data), (H, W[, C])."""
    raw = Path(path).read_bytes()
    match = re.match(rb"(\d+)&(\d+)&(\d+)&", raw)
    if not match:
        raise ValueError(f"{path}: not a COLMAP depth/normal map")
    width, height, channels = (int(g) for g in match.groups())
    data = np.frombuffer(raw[match.end() :], dtype="<f4")
    if data.size != width * height * channels:
        raise ValueError(f"{path}: expected {width}x{height}x{channels} floats, got {data.size}")
    array = data.reshape(channels, height, width).transpose(1, 2, 0)
    return array[..., 0] if channels == 1 else array


def _frame_name(image_name: str) -> str:
    """A flat, file-safe frame name for a COLMAP image name (sub-folders become '__')."""
    stem = Path(image_name).with_suffix("").as_posix().replace("/", "__")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip(".") or "image"


def _resize_nearest(depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel-centre-aligned nearest-neighbour resize (depth is never interpolated)."""
    h, w = depth.shape
    ys = np.minimum(((np.arange(height) + 0.5) * h / height).astype(int), h - 1)
    xs = np.minimum(((np.arange(width) + 0.5) * w / width).astype(int), w - 1)
    return depth[ys[:, None], xs[None, :]]


def convert_colmap_model(
    model_dir: str | Path,
    image_dir: str | Path,
    scene_dir: str | Path,
    group: str,
    georef: GeoReference,
    *,
    world_from_model: Sim3 | None = None,
    depth_dir: str | Path | None = None,
    depth_suffix: str = ".geometric.bin",
) -> Scene:
    """Write (or add to) a scene: one group of frames from a COLMAP sparse model.

    Images are copied from ``image_dir / <COLMAP name>``. With ``depth_dir`` (a COLMAP dense
    ``stereo/depth_maps`` folder), ``<name><depth_suffix>`` is converted to metres with the
    similarity's scale (depth maps of another size are resized by nearest neighbour).
    """
    sim = world_from_model or Sim3(1.0, np.eye(3), np.zeros(3))
    cameras, images = read_model(model_dir)
    writer = SceneWriter(scene_dir, georef, source="colmap")
    used: set[str] = set()
    for image in sorted(images.values(), key=lambda im: im.name):
        camera = cameras[image.camera_id]
        name = _frame_name(image.name)
        if name in used:
            raise ValueError(f"two COLMAP images map to the frame name {name!r}")
        used.add(name)
        src = Path(image_dir) / image.name
        if not src.is_file():
            raise FileNotFoundError(f"image {src} of the COLMAP model is missing")
        depth = None
        if depth_dir is not None:
            depth_path = Path(depth_dir) / f"{image.name}{depth_suffix}"
            if depth_path.is_file():
                depth = read_depth_map(depth_path).astype(np.float32) * np.float32(sim.scale)
                if depth.shape != (camera.height, camera.width):
                    depth = _resize_nearest(depth, camera.width, camera.height)
        size = writer.add_frame(
            group,
            name,
            src,
            camera.intrinsics(),
            sim.transform_extrinsics(image.extrinsics()),
            depth=depth,
            extra={"colmap_image_id": image.image_id, "colmap_name": image.name},
        )
        if size != (camera.width, camera.height):
            raise ValueError(f"{src}: size {size} differs from COLMAP camera {camera.camera_id}")
    return writer.finish()
