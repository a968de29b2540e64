"""On-disk scene format of the multi-altitude data (see docs/dataset_format.md).

A scene is a directory::

    <scene>/scene.json                 geo-reference (WGS84 origin of the ENU world) + metadata
    <scene>/<group>/frames.json        per-image intrinsics, world-to-camera extrinsics, view type
    <scene>/<group>/images/<name>.png  RGB (any format OpenCV reads: .png, .jpg, ...)
    <scene>/<group>/depths/<name>.npy  float32 z-depth in metres, 0 where invalid (optional)

with ``<group>`` one of ``satellite``, ``aerial``, ``ground``, ``real_aerial``,
``real_ground``. Groups are independent so a converter can add real images to a synthetic
scene. Poses are exact float64 JSON numbers (round-trip safe).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sky2ground_ros.data.cameras import camera_center
from sky2ground_ros.views import ViewType

FORMAT_NAME = "sky2ground-scene"
FORMAT_VERSION = 1
SCENE_FILE = "scene.json"
FRAMES_FILE = "frames.json"

GROUPS: dict[str, tuple[ViewType, bool]] = {
    "satellite": (ViewType.SATELLITE, False),
    "aerial": (ViewType.AERIAL, False),
    "ground": (ViewType.GROUND, False),
    "real_aerial": (ViewType.AERIAL, True),
    "real_ground": (ViewType.GROUND, True),
}
"""Group directory -> (default view type, whether its images are real photographs)."""


@dataclass(frozen=True)
class GeoReference:
    """WGS84 origin of the scene's ENU world frame (degrees, ellipsoidal height in metres)."""

    latitude: float
    longitude: float
    altitude: float

    def to_json(self) -> dict[str, Any]:
        """JSON object of the geo-reference (frame convention spelled out)."""
        return {
            "latitude": self.latitude,
            "longitude": self.longitude,
            "altitude": self.altitude,
            "frame": "ENU",
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> GeoReference:
        """Parse and validate the ``georef`` object of scene.json."""
        if obj.get("frame", "ENU") != "ENU":
            raise ValueError(f"unsupported world frame {obj.get('frame')!r}; only ENU")
        ref = cls(float(obj["latitude"]), float(obj["longitude"]), float(obj["altitude"]))
        if not (-90.0 <= ref.latitude <= 90.0 and -180.0 <= ref.longitude <= 180.0):
            raise ValueError(f"geo-reference out of range: {ref}")
        return ref


@dataclass(frozen=True)
class Frame:
    """One image of a scene with its exact camera."""

    group: str
    name: str
    image_path: Path
    depth_path: Path | None
    width: int
    height: int
    intrinsics: np.ndarray
    extrinsics: np.ndarray
    view_type: ViewType
    real: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def center(self) -> np.ndarray:
        """Camera centre in the scene's ENU world frame."""
        return camera_center(self.extrinsics)


@dataclass(frozen=True)
class Scene:
    """A scene directory loaded into memory (metadata only; pixels are read on demand)."""

    root: Path
    name: str
    georef: GeoReference
    source: str
    frames: list[Frame]
    metadata: dict[str, Any]

    @classmethod
    def load(cls, root: str | Path) -> Scene:
        """Read scene.json and the frames.json of every group present."""
        root = Path(root)
        meta = json.loads((root / SCENE_FILE).read_text())
        if meta.get("format") != FORMAT_NAME:
            raise ValueError(f"{root / SCENE_FILE} is not a {FORMAT_NAME} file")
        if int(meta.get("version", 0)) > FORMAT_VERSION:
            raise ValueError(f"{root}: format version {meta['version']} is newer than supported")
        frames: list[Frame] = []
        for group in GROUPS:
            path = root / group / FRAMES_FILE
            if path.is_file():
                frames.extend(_read_group(root, group, json.loads(path.read_text())))
        return cls(
            root=root,
            name=str(meta.get("name", root.name)),
            georef=GeoReference.from_json(meta["georef"]),
            source=str(meta.get("source", "unknown")),
            frames=frames,
            metadata=dict(meta.get("metadata", {})),
        )

    def select(self, view_type: ViewType | None = None, groups: tuple[str, ...] | None = None):
        """Frames of one view type and/or from some groups, in file order."""
        return [
            f
            for f in self.frames
            if (view_type is None or f.view_type == view_type)
            and (groups is None or f.group in groups)
        ]

    @staticmethod
    def load_image(frame: Frame) -> np.ndarray:
        """RGB uint8 image (H, W, 3) of a frame; checks its size against frames.json."""
        bgr = cv2.imread(str(frame.image_path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"cannot read image {frame.image_path}")
        if bgr.shape[:2] != (frame.height, frame.width):
            raise ValueError(
                f"{frame.image_path}: size {bgr.shape[1]}x{bgr.shape[0]} differs from "
                f"frames.json {frame.width}x{frame.height}"
            )
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    @staticmethod
    def load_depth(frame: Frame) -> np.ndarray | None:
        """float32 z-depth (H, W) in metres with invalid pixels set to 0, or None."""
        if frame.depth_path is None:
            return None
        depth = np.load(frame.depth_path).astype(np.float32, copy=False)
        if depth.shape != (frame.height, frame.width):
            raise ValueError(f"{frame.depth_path}: shape {depth.shape} differs from the image")
        return np.where(np.isfinite(depth) & (depth > 0), depth, 0.0).astype(np.float32)


def _read_group(root: Path, group: str, obj: dict[str, Any]) -> list[Frame]:
    """Parse one frames.json."""
    default_type, real = GROUPS[group]
    group_type = ViewType.parse(obj.get("view_type", default_type))
    group_real = bool(obj.get("real", real))
    frames = []
    for entry in obj["frames"]:
        K = np.asarray(entry["intrinsics"], dtype=np.float64)
        E = np.asarray(entry["extrinsics"], dtype=np.float64)
        if K.shape != (3, 3) or E.shape != (3, 4):
            raise ValueError(f"{root}/{group}: bad camera shapes for {entry.get('name')}")
        if not np.allclose(E[:, :3] @ E[:, :3].T, np.eye(3), atol=1e-6):
            raise ValueError(f"{root}/{group}: rotation of {entry.get('name')} is not orthonormal")
        depth = entry.get("depth")
        known = {"name", "image", "depth", "width", "height", "intrinsics", "extrinsics"}
        frames.append(
            Frame(
                group=group,
                name=str(entry["name"]),
                image_path=root / group / entry["image"],
                depth_path=None if depth is None else root / group / depth,
                width=int(entry["width"]),
                height=int(entry["height"]),
                intrinsics=K,
                extrinsics=E,
                view_type=ViewType.parse(entry.get("view_type", group_type)),
                real=group_real,
                extra={k: v for k, v in entry.items() if k not in known | {"view_type"}},
            )
        )
    return frames


class SceneWriter:
    """Writes one scene directory; groups are written by `finish` (or added to a scene).

    Opening an existing scene keeps its other groups, so real images can be added to a
    synthetic scene; the geo-reference must then match the stored one.
    """

    def __init__(
        self,
        root: str | Path,
        georef: GeoReference,
        *,
        name: str | None = None,
        source: str = "synthetic",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.root = Path(root)
        self.georef = georef
        self.name = name or self.root.name
        self.source = source
        self.metadata = dict(metadata or {})
        self._groups: dict[str, list[dict[str, Any]]] = {}
        scene_file = self.root / SCENE_FILE
        if scene_file.is_file():
            stored = Scene.load(self.root)
            if not _same_georef(stored.georef, georef):
                raise ValueError(
                    f"{self.root}: geo-reference {georef} differs from {stored.georef}"
                )
            self.metadata = {**stored.metadata, **self.metadata}
            self.source = stored.source if stored.source == source else "mixed"

    def add_frame(
        self,
        group: str,
        name: str,
        image: np.ndarray | Path,
        intrinsics: np.ndarray,
        extrinsics: np.ndarray,
        depth: np.ndarray | None = None,
        view_type: ViewType | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[int, int]:
        """Write one image (RGB array, or an existing file that is copied) and its camera.

        Returns the image's (width, height).
        """
        if group not in GROUPS:
            raise ValueError(f"unknown group {group!r}; expected one of {', '.join(GROUPS)}")
        if "/" in name or name.startswith("."):
            raise ValueError(f"frame name {name!r} must be a plain file stem")
        group_dir = self.root / group
        (group_dir / "images").mkdir(parents=True, exist_ok=True)
        if isinstance(image, Path):
            data = image.read_bytes()
            image_rel = f"images/{name}{image.suffix.lower()}"
            (group_dir / image_rel).write_bytes(data)
            decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if decoded is None:
                raise ValueError(f"cannot decode image {image}")
            height, width = decoded.shape[:2]
        else:
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ValueError("image must be an RGB uint8 array (H, W, 3)")
            height, width = image.shape[:2]
            image_rel = f"images/{name}.png"
            cv2.imwrite(str(group_dir / image_rel), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        depth_rel = None
        if depth is not None:
            if depth.shape != (height, width):
                raise ValueError(f"depth shape {depth.shape} differs from image {height}x{width}")
            (group_dir / "depths").mkdir(exist_ok=True)
            depth_rel = f"depths/{name}.npy"
            clean = np.where(np.isfinite(depth) & (depth > 0), depth, 0.0).astype(np.float32)
            np.save(group_dir / depth_rel, clean)
        entry: dict[str, Any] = {
            "name": name,
            "image": image_rel,
            "depth": depth_rel,
            "width": int(width),
            "height": int(height),
            "intrinsics": np.asarray(intrinsics, dtype=np.float64).tolist(),
            "extrinsics": np.asarray(extrinsics, dtype=np.float64).tolist(),
        }
        default_type = GROUPS[group][0]
        if view_type is not None and ViewType(view_type) != default_type:
            entry["view_type"] = ViewType(view_type).name.lower()
        entry.update(extra or {})
        self._groups.setdefault(group, []).append(entry)
        return int(width), int(height)

    def finish(self) -> Scene:
        """Write frames.json of every group added and scene.json; returns the loaded scene."""
        self.root.mkdir(parents=True, exist_ok=True)
        for group, entries in self._groups.items():
            view_type, real = GROUPS[group]
            obj = {"view_type": view_type.name.lower(), "real": real, "frames": entries}
            (self.root / group / FRAMES_FILE).write_text(json.dumps(obj, indent=1))
        meta = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "name": self.name,
            "source": self.source,
            "georef": self.georef.to_json(),
            "metadata": self.metadata,
        }
        (self.root / SCENE_FILE).write_text(json.dumps(meta, indent=1))
        return Scene.load(self.root)


def _same_georef(a: GeoReference, b: GeoReference) -> bool:
    """Equal up to ~1 mm."""
    return (
        math.isclose(a.latitude, b.latitude, abs_tol=1e-8)
        and math.isclose(a.longitude, b.longitude, abs_tol=1e-8)
        and math.isclose(a.altitude, b.altitude, abs_tol=1e-3)
    )


def discover_scenes(root: str | Path) -> list[Path]:
    """Scene directories at or directly below ``root`` (sorted by name)."""
    root = Path(root)
    if (root / SCENE_FILE).is_file():
        return [root]
    return sorted(p for p in root.iterdir() if (p / SCENE_FILE).is_file())
