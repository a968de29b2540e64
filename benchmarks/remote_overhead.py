"""Round trip of remote inference (Localize action) against the same model in-process.

One window of the tiny model at 4 camera frames + 4 satellite tiles (84 px, the shipped
checkpoint's input size), JPEG quality 90 as the localizer sends it. "local" is what the
localizer does in-process: the codec's round trip and `run_model`. "remote" is
`RemoteInference` as the localizer calls it: goal built and serialized, sent over loopback
DDS to a `skynet_inference` node in a child process (same torch thread count), decoded
there, `run_model`, the result back and converted. Printed: medians in ms per window, the
ratio remote / local and the serialized goal size (bytes sent per window).

    .venv/bin/python benchmarks/remote_overhead.py [--windows 30] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import rclpy
import torch
import yaml
from rclpy.executors import SingleThreadedExecutor

from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.codec import ImageCodec, decode_image
from sky2ground_ros.localizer.pipeline import PreparedWindow, run_model
from sky2ground_ros.localizer.preprocess import batch_tensor
from sky2ground_ros.localizer.tile_frames import TileFrame
from sky2ground_ros.model.weights import load_model
from sky2ground_ros.ros.dds import ensure_local_dds
from sky2ground_ros.ros.inference_client import RemoteInference
from sky2ground_ros.views import ViewType

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "skynet_tiny.safetensors"
FRAMES, TILES, SIZE = 4, 4, 84
WARMUP = 3


def textured(rng: np.random.Generator) -> np.ndarray:
    """A blurred-noise RGB image (compresses like imagery, unlike white noise)."""
    noise = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (5, 5), 0)


def window(codec: ImageCodec) -> PreparedWindow:
    """A prepared window as `Localizer.prepare` makes it for a remote predictor."""
    rng = np.random.default_rng(0)
    images = [textured(rng) for _ in range(FRAMES + TILES)]
    K = np.array([[60.0, 0, SIZE / 2], [0, 60.0, SIZE / 2], [0, 0, 1]])
    tiles = [
        TileFrame(f"tile{i}", images[FRAMES + i], K, np.hstack([np.eye(3), np.zeros((3, 1))]))
        for i in range(TILES)
    ]
    encoded = [codec.encode(image) for image in images]
    return PreparedWindow(
        origin=LocalENU(47.0, 8.0, 0.0),
        num_cameras=FRAMES,
        view_types=[ViewType.AERIAL] * FRAMES + [ViewType.SATELLITE] * TILES,
        tiles=tiles,
        images=batch_tensor([decode_image(data) for data in encoded]),
        intrinsics=[K] * (FRAMES + TILES),
        encoded=encoded,
    )


def start_server(threads: int, env: dict[str, str], workdir: Path) -> subprocess.Popen:
    params = workdir / "server.yaml"
    settings = {"model_path": str(MODEL), "torch_threads": threads}
    params.write_text(yaml.safe_dump({"skynet_inference": {"ros__parameters": settings}}))
    command = ["-m", "sky2ground_ros.ros.skynet_inference_node", "--ros-args", "--params-file"]
    return subprocess.Popen(
        [sys.executable, *command, str(params)], env=env, stdout=subprocess.DEVNULL
    )


def median_ms(samples: list[float]) -> float:
    return 1000.0 * statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch threads on both sides")
    args = parser.parse_args()
    ensure_local_dds()
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(101, 200)))
    torch.set_num_threads(args.threads)
    codec = ImageCodec("jpeg", 90)
    prepared = window(codec)
    sources = [decode_image(data) for data in prepared.encoded]  # stand-ins for the raw frames

    model = load_model(MODEL, "cpu")
    local = []
    for k in range(WARMUP + args.windows):
        start = time.perf_counter()
        seen = [codec.roundtrip(image) for image in sources]
        run_model(model, batch_tensor(seen), prepared.view_types)
        if k >= WARMUP:
            local.append(time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(args.threads, dict(os.environ), Path(tmp))
        rclpy.init()
        node = rclpy.create_node("remote_overhead_benchmark")
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        stop = threading.Event()

        def spin() -> None:  # the executor completes the action futures off this thread
            while not stop.is_set():
                executor.spin_once(0.05)

        spinner = threading.Thread(target=spin)
        spinner.start()
        client = RemoteInference(node, "/skynet_inference/localize", 30.0, codec.format)
        try:
            deadline = time.monotonic() + 60
            while not client.server_ready() and time.monotonic() < deadline:
                time.sleep(0.1)
            remote = []
            for k in range(WARMUP + args.windows):
                start = time.perf_counter()
                client(prepared)
                if k >= WARMUP:
                    remote.append(time.perf_counter() - start)
            stats = client.stats()
        finally:
            stop.set()
            spinner.join()
            client.close()
            executor.shutdown()
            node.destroy_node()
            rclpy.try_shutdown()
            server.terminate()
            server.wait(timeout=20)

    local_ms, remote_ms = median_ms(local), median_ms(remote)
    raw = sum(image.nbytes for image in sources)
    print(f"tiny model, {FRAMES} frames + {TILES} tiles at {SIZE} px, JPEG q90, CPU")
    print(f"torch threads {args.threads} on both sides, {args.windows} windows, medians")
    print(f"local  (codec round trip + model)          {local_ms:8.1f} ms/window")
    print(f"remote (Localize action over loopback DDS) {remote_ms:8.1f} ms/window")
    print(f"  of which on the server (decode + model)  {stats.server_ms:8.1f} ms (last window)")
    print(f"ratio remote / local                       {remote_ms / local_ms:8.2f} x")
    print(f"overhead                                   {remote_ms - local_ms:8.1f} ms/window")
    print(f"bytes sent per window (serialized goal)    {stats.bytes_sent:8d} B")
    print(f"  (raw RGB of the same images              {raw:8d} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
