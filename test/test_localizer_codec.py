"""The window codec: the local model and a remote predictor see the same pixels.

A remote predictor gets the window's encoded bytes and decodes them as the skynet_inference
node does; the local model gets the codec's in-process round trip. Same model, same input:
the predictions must be identical, which is what lets remote and local mode give the same
poses (test_ros_tethered_equality checks it across processes).
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from nodes.localizer_fixtures import write_orthophoto

from sky2ground_ros.data.scene_format import GeoReference
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.codec import EncodedImages, ImageCodec, decode_image
from sky2ground_ros.localizer.geometry import default_camera_extrinsic
from sky2ground_ros.localizer.keyframes import FrameSet
from sky2ground_ros.localizer.pipeline import (
    CameraMount,
    Localizer,
    LocalizerConfig,
    PreparedWindow,
    WindowPrediction,
    WindowRequest,
    run_model,
)
from sky2ground_ros.localizer.preprocess import batch_tensor
from sky2ground_ros.localizer.prior import GeoPrior
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.tiles.service import TileService
from sky2ground_ros.views import ViewType

GEOREF = GeoReference(47.3769, 8.5417, 408.0)
SIZE = 56


def test_jpeg_round_trip_is_deterministic_and_png_lossless() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    jpeg = ImageCodec("jpeg", 80)
    assert jpeg.encode(image) == jpeg.encode(image)
    np.testing.assert_array_equal(jpeg.roundtrip(image), decode_image(jpeg.encode(image)))
    assert not np.array_equal(jpeg.roundtrip(image), image)
    png = ImageCodec("png")
    np.testing.assert_array_equal(decode_image(png.encode(image)), image)
    assert png.roundtrip(image) is image
    with pytest.raises(ValueError, match="format"):
        ImageCodec("bmp")
    with pytest.raises(ValueError, match="quality"):
        ImageCodec("jpeg", 0)
    with pytest.raises(ValueError, match="decode"):
        decode_image(b"not an image")


def test_encoded_images_encode_each_array_once() -> None:
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(3)]
    jpeg = ImageCodec("jpeg", 85)
    cache = EncodedImages(jpeg, capacity=2)
    data, seen = cache.get(images[0])
    assert data == jpeg.encode(images[0])
    np.testing.assert_array_equal(seen, jpeg.roundtrip(images[0]))
    assert cache.get(images[0])[1] is seen  # the same array again: no second round trip
    copy = images[0].copy()
    assert cache.get(copy)[1] is not seen  # equal pixels, another object: encoded anew
    cache.get(images[1])
    cache.get(images[2])  # capacity 2: the oldest entries are gone
    assert cache.get(images[0])[1] is not seen
    png_image = images[2]
    assert EncodedImages(ImageCodec("png")).get(png_image)[1] is png_image


@pytest.mark.parametrize("codec", [ImageCodec("jpeg", 90), ImageCodec("png")])
def test_remote_predictor_sees_the_local_model_input(tmp_path: Path, codec: ImageCodec) -> None:
    torch.manual_seed(0)
    model = SkyNet(get_config("tiny")).eval()
    service = TileService.open(write_orthophoto(tmp_path / "ortho.tif", GEOREF))
    origin = LocalENU(GEOREF.latitude, GEOREF.longitude, GEOREF.altitude)
    config = LocalizerConfig(image_size=SIZE, codec=codec)
    rng = np.random.default_rng(1)
    K = np.array([[40.0, 0.0, 27.5], [0.0, 40.0, 27.5], [0.0, 0.0, 1.0]])
    frames = [
        FrameSet(float(k), [rng.integers(0, 255, (SIZE, SIZE, 3), np.uint8)], [K], ["cam"])
        for k in range(3)
    ]
    mounts = {"cam": CameraMount(ViewType.AERIAL, default_camera_extrinsic())}
    request = WindowRequest(frames, GeoPrior(GEOREF.latitude, GEOREF.longitude, 0.0, "x"), mounts)
    sent: list[PreparedWindow] = []

    def remote(prepared: PreparedWindow) -> WindowPrediction:
        sent.append(prepared)
        images = batch_tensor([decode_image(data) for data in prepared.encoded])
        return run_model(model, images, prepared.view_types)

    try:
        local = Localizer(model, service.get_tiles, config, origin)
        by_wire = Localizer(None, service.get_tiles, config, origin, predictor=remote)
        local_prepared = local.prepare(request)
        expected = local.predict(local_prepared)
        got = by_wire.predict(by_wire.prepare(request))
    finally:
        service.close()
    (prepared,) = sent
    assert len(prepared.encoded) == len(prepared.view_types) == 3 + len(prepared.tiles)
    torch.testing.assert_close(prepared.images, local_prepared.images, rtol=0, atol=0)
    for a, b in zip(vars(expected).values(), vars(got).values(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="either a model or a predictor"):
        Localizer(model, service.get_tiles, config, origin, predictor=remote)
