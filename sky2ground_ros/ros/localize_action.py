"""Conversions between a prepared window / SkyNet's prediction and the Localize action.

Both ends of remote inference use these: the localizer builds the goal from the window's
encoded images, the ``skynet_inference`` node decodes it into the model batch and answers
with the prediction, which the localizer turns back into a `WindowPrediction`. Extrinsics,
intrinsics and confidences travel as float64 copies of the model's output, so nothing is
lost on the way.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage
from sky2ground_interfaces.action import Localize
from sky2ground_interfaces.msg import FramePrediction, GeoTile

from sky2ground_ros.localizer.codec import decode_image
from sky2ground_ros.localizer.pipeline import PreparedWindow, WindowPrediction
from sky2ground_ros.views import ViewType


def window_goal(prepared: PreparedWindow, image_format: str) -> Localize.Goal:
    """The goal of one window: encoded camera frames with CameraInfo, then the tiles."""
    n = prepared.num_cameras
    if len(prepared.encoded) != len(prepared.view_types):
        raise ValueError("the window's images were not encoded (set LocalizerConfig.codec)")
    size = prepared.images.shape[-2:]
    height, width = int(size[0]), int(size[1])
    images, infos = [], []
    for data, K in zip(prepared.encoded[:n], prepared.intrinsics[:n], strict=True):
        images.append(CompressedImage(format=image_format, data=data))
        info = CameraInfo(width=width, height=height)
        info.k = [float(v) for v in np.asarray(K).reshape(9)]
        infos.append(info)
    tiles = []
    for tile, data in zip(prepared.tiles, prepared.encoded[n:], strict=True):
        message = GeoTile(
            id=tile.id,
            image=CompressedImage(format=image_format, data=data),
            width=width,
            height=height,
        )
        message.image.header.frame_id = tile.id
        if tile.geo is not None:
            g = tile.geo
            message.zoom = g.zoom
            message.crs = g.crs
            message.min_x, message.min_y, message.max_x, message.max_y = g.bounds
            message.west, message.south, message.east, message.north = g.bounds_wgs84
            message.gsd_m = g.gsd_m
        tiles.append(message)
    view_types = [int(v) for v in prepared.view_types[:n]]
    return Localize.Goal(images=images, camera_info=infos, view_types=view_types, tiles=tiles)


def goal_images(goal: Localize.Goal) -> tuple[list[np.ndarray], list[ViewType]]:
    """Decoded RGB images (frames, then tiles) and their view types; ValueError when bad."""
    if not goal.images:
        raise ValueError("the window has no camera frames")
    if len(goal.view_types) != len(goal.images) or len(goal.camera_info) != len(goal.images):
        raise ValueError(
            f"{len(goal.images)} images but {len(goal.view_types)} view types and "
            f"{len(goal.camera_info)} CameraInfo"
        )
    view_types = [ViewType.parse(int(v)) for v in goal.view_types]
    if ViewType.SATELLITE in view_types:
        raise ValueError("camera frames must be ground or aerial")
    encoded = [bytes(m.data) for m in goal.images] + [bytes(t.image.data) for t in goal.tiles]
    images = [decode_image(data) for data in encoded]
    if len({image.shape for image in images}) != 1:
        raise ValueError(f"images differ in size: {sorted({i.shape for i in images})}")
    return images, view_types + [ViewType.SATELLITE] * len(goal.tiles)


def prediction_frames(prediction: WindowPrediction) -> list[FramePrediction]:
    """One FramePrediction per image of the window."""
    return [
        FramePrediction(
            extrinsic=np.asarray(E, dtype=np.float64).reshape(12),
            k=np.asarray(K, dtype=np.float64).reshape(9),
            confidence=float(c),
        )
        for E, K, c in zip(
            prediction.extrinsics, prediction.intrinsics, prediction.confidence, strict=True
        )
    ]


def window_prediction(frames: list[FramePrediction]) -> WindowPrediction:
    """The prediction carried by a Localize result."""
    return WindowPrediction(
        np.stack([np.asarray(f.extrinsic, dtype=np.float64).reshape(3, 4) for f in frames]),
        np.stack([np.asarray(f.k, dtype=np.float64).reshape(3, 3) for f in frames]),
        np.array([f.confidence for f in frames], dtype=np.float64),
    )
