"""`sky2ground replay` on bags it did not write: rosbags' own Writer, MCAP and SQLite, cut files.

The input bags are written here with rosbags' Writer and typestore directly (not the
project's bag writer or message helpers): rendered camera frames of a synthetic town,
CameraInfo, a NavSatFix and the camera's mount on /tf_static, as a drone records them. Replay
runs through the CLI entry point with the shipped checkpoint; the replays that must publish
poses use a parameter file with opened registration/gate thresholds (the town's ground
altitude set), so they check the output path (bag, /tf, TUM), not accuracy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from nodes.localizer_fixtures import OPEN_THRESHOLDS, write_params
from rclpy.serialization import deserialize_message
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore
from scipy.spatial.transform import Rotation
from tf2_msgs.msg import TFMessage

from sky2ground_ros.cli.main import main
from sky2ground_ros.data.cameras import PinholeCamera, intrinsics_from_hfov
from sky2ground_ros.data.orthophoto import write_orthophoto
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.geometry import enu_in_ecef, inverse
from sky2ground_ros.replay.bag_reader import BagReader
from sky2ground_ros.replay.bag_types import VIEW_TYPE_KEY
from sky2ground_ros.replay.make_bag import scene_renderer
from sky2ground_ros.replay.trajectories import DroneOrbit

TYPES = get_typestore(Stores.ROS2_KILTED)
T = TYPES.types
FRAMES = 10
RATE_HZ = 2.0
T0_NS = 1_700_000_000 * 10**9
WIDTH, HEIGHT = 96, 72
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


def stamp(ns: int) -> object:
    return T["builtin_interfaces/msg/Time"](sec=ns // 10**9, nanosec=ns % 10**9)


def header(ns: int, frame: str) -> object:
    return T["std_msgs/msg/Header"](stamp=stamp(ns), frame_id=frame)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Rendered frames of a drone orbit, their geodetic positions and the town's orthophoto."""
    root = tmp_path_factory.mktemp("world")
    renderer = scene_renderer(1000)
    georef = renderer.scene.georef
    orbit = DroneOrbit(radius_m=120.0, altitude_m=250.0, speed_mps=12.0)
    K = intrinsics_from_hfov(WIDTH, HEIGHT, orbit.hfov_deg)
    frames = []
    for i in range(FRAMES):
        T_map_camera = orbit.pose(i / RATE_HZ) @ orbit.camera_in_base
        camera = PinholeCamera(K, inverse(T_map_camera)[:3], WIDTH, HEIGHT)
        rgb = np.round(renderer.render(camera).rgb * 255.0).astype(np.uint8)
        frames.append((rgb, T_map_camera[:3, 3]))
    ortho = write_orthophoto(renderer, root / "ortho.tif", 1.0, half_extent=400.0)
    # The town's ground sits at the georeference's altitude: a flight's height above it is
    # what the location head scales the camera's footprint by.
    ground = {**OPEN_THRESHOLDS, "ground_altitude_m": georef.altitude}
    params = write_params(root / "open.yaml", "sky2ground_localizer", ground)
    world = {"frames": frames, "K": K, "georef": georef, "ortho": ortho, "params": params}
    return {**world, "mount": orbit.camera_in_base}


def mount_message(mount: np.ndarray, ns: int) -> object:
    """The ``base_link → cam_optical`` mount as a TFMessage."""
    x, y, z, w = Rotation.from_matrix(mount[:3, :3]).as_quat()
    tx, ty, tz = mount[:3, 3]
    transform = T["geometry_msgs/msg/Transform"](
        translation=T["geometry_msgs/msg/Vector3"](x=tx, y=ty, z=tz),
        rotation=T["geometry_msgs/msg/Quaternion"](x=x, y=y, z=z, w=w),
    )
    stamped = T["geometry_msgs/msg/TransformStamped"](
        header=header(ns, "base_link"), child_frame_id="cam_optical", transform=transform
    )
    return T["tf2_msgs/msg/TFMessage"](transforms=[stamped])


def write_bag(
    path: Path, storage: str, world: dict, camera: bool = True, fixes: int = FRAMES, truth: int = 0
) -> Path:
    """A bag written with rosbags' Writer: the camera mount on /tf_static, /cam/image_raw,
    /cam/camera_info, the first ``fixes`` /fix messages and the first ``truth``
    /ground_truth/pose poses (in ``earth``)."""
    georef = world["georef"]
    T_earth_map = enu_in_ecef(LocalENU(georef.latitude, georef.longitude, georef.altitude))
    with Writer(path, version=Writer.VERSION_LATEST, storage_plugin=STORAGES[storage]) as writer:
        static = writer.add_connection("/tf_static", "tf2_msgs/msg/TFMessage", typestore=TYPES)
        mount = mount_message(world["mount"], T0_NS)
        writer.write(static, T0_NS, TYPES.serialize_cdr(mount, mount.__msgtype__))
        fix = writer.add_connection("/fix", "sensor_msgs/msg/NavSatFix", typestore=TYPES)
        truth_topic = writer.add_connection(
            "/ground_truth/pose", "geometry_msgs/msg/PoseStamped", typestore=TYPES
        )
        connections = {}
        if camera:
            for topic, msgtype in (
                ("/cam/camera_info", "sensor_msgs/msg/CameraInfo"),
                ("/cam/image_raw", "sensor_msgs/msg/Image"),
            ):
                connections[topic] = writer.add_connection(topic, msgtype, typestore=TYPES)
        for i, (rgb, position) in enumerate(world["frames"]):
            ns = T0_NS + round(i / RATE_HZ * 1e9)
            lat = georef.latitude + position[1] / 111_320.0
            lon = georef.longitude + position[0] / (111_320.0 * np.cos(np.radians(lat)))
            navsat = T["sensor_msgs/msg/NavSatFix"](
                header=header(ns, "gnss"),
                status=T["sensor_msgs/msg/NavSatStatus"](status=0, service=1),
                latitude=lat,
                longitude=lon,
                altitude=georef.altitude + 250.0,
                position_covariance=np.eye(3).reshape(9) * 9.0,
                position_covariance_type=2,
            )
            if i < fixes:
                writer.write(fix, ns, TYPES.serialize_cdr(navsat, navsat.__msgtype__))
            if i < truth:
                x, y, z = (T_earth_map @ np.append(position, 1.0))[:3]
                pose = T["geometry_msgs/msg/PoseStamped"](
                    header=header(ns, "earth"),
                    pose=T["geometry_msgs/msg/Pose"](
                        position=T["geometry_msgs/msg/Point"](x=x, y=y, z=z),
                        orientation=T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
                    ),
                )
                writer.write(truth_topic, ns, TYPES.serialize_cdr(pose, pose.__msgtype__))
            if not camera:
                continue
            info = T["sensor_msgs/msg/CameraInfo"](
                header=header(ns, "cam_optical"),
                height=HEIGHT,
                width=WIDTH,
                distortion_model="plumb_bob",
                d=np.zeros(5),
                k=world["K"].reshape(9),
                r=np.eye(3).reshape(9),
                p=np.hstack([world["K"], np.zeros((3, 1))]).reshape(12),
                binning_x=0,
                binning_y=0,
                roi=T["sensor_msgs/msg/RegionOfInterest"](
                    x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
                ),
            )
            image = T["sensor_msgs/msg/Image"](
                header=header(ns, "cam_optical"),
                height=HEIGHT,
                width=WIDTH,
                encoding="rgb8",
                is_bigendian=0,
                step=3 * WIDTH,
                data=rgb.reshape(-1),
            )
            for topic, msg in (("/cam/camera_info", info), ("/cam/image_raw", image)):
                writer.write(connections[topic], ns, TYPES.serialize_cdr(msg, msg.__msgtype__))
    return path


def replay_cli(bag: Path, world: dict, out: Path, *extra: str) -> int:
    args = ["replay", str(bag), "--tiles", str(world["ortho"]), "--out", str(out)]
    return main([*args, "--view-type", "aerial", "--no-progress", *extra])


def raw_messages(bag: Path, topic: str) -> list[bytes]:
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if c.topic == topic]
        return [bytes(data) for _, _, data in reader.messages(connections)]


@pytest.fixture(scope="module", params=list(STORAGES))
def replayed(request: pytest.FixtureRequest, world: dict, tmp_path_factory) -> dict:
    """An independent bag of each storage, replayed with opened thresholds."""
    root = tmp_path_factory.mktemp(f"replay_{request.param}")
    bag = write_bag(root / "input", request.param, world)
    out = root / "out"
    rc = replay_cli(bag, world, out, "--params-file", str(world["params"]))
    report = json.loads((out / "report.json").read_text())
    return {"rc": rc, "bag": bag, "out": out, "report": report, "storage": request.param}


def test_replay_of_independent_bag(replayed: dict) -> None:
    assert replayed["rc"] == 0
    summary = replayed["report"]["summary"]
    assert summary["frames"] == FRAMES
    assert summary["windows"] == FRAMES - 3  # a window of 4 keyframe sets from the 4th frame
    assert summary["poses"] == summary["windows"] > 0
    assert summary["stopped"] == "" and summary["bag_damage"] == ""
    out = replayed["out"]
    storage_file = next((out / "bag").glob("*.mcap"))  # output storage: mcap by default
    assert storage_file.stat().st_size > 0
    with Reader(out / "bag") as reader:
        counts = {name: topic.msgcount for name, topic in reader.topics.items()}
    assert counts["/cam/image_raw"] == counts["/cam/camera_info"] == counts["/fix"] == FRAMES
    assert counts["/tf"] == counts["/sky2ground_localizer/pose"] == summary["poses"]
    assert counts["/tf_static"] == 2  # the bag's camera mount, kept, and earth -> map, once
    tum = [line for line in (out / "trajectory.tum").read_text().splitlines() if line[0] != "#"]
    assert len(tum) == summary["poses"]
    track = json.loads((out / "track.geojson").read_text())
    assert len(track["features"]) == 1 + summary["poses"]


def test_output_tf_deserialises_with_rclpy(replayed: dict) -> None:
    out = replayed["out"]
    transforms = [deserialize_message(d, TFMessage) for d in raw_messages(out / "bag", "/tf")]
    assert transforms and all(len(m.transforms) == 1 for m in transforms)
    tum = np.loadtxt(out / "trajectory.tum")
    for message, row in zip(transforms, np.atleast_2d(tum), strict=True):
        t = message.transforms[0]
        assert (t.header.frame_id, t.child_frame_id) == ("map", "base_link")
        assert t.header.stamp.sec + t.header.stamp.nanosec * 1e-9 == pytest.approx(row[0])
        translation = [t.transform.translation.x, t.transform.translation.y]
        np.testing.assert_allclose(translation, row[1:3], atol=1e-5)
    static = [deserialize_message(d, TFMessage) for d in raw_messages(out / "bag", "/tf_static")]
    edges = [(t.header.frame_id, t.child_frame_id) for m in static for t in m.transforms]
    assert sorted(edges) == [("base_link", "cam_optical"), ("earth", "map")]


def test_missing_camera_topic_lists_the_bags_topics(
    world: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = write_bag(tmp_path / "no_camera", "mcap", world, camera=False)
    assert replay_cli(bag, world, tmp_path / "out") == 1
    error = capsys.readouterr().err
    assert "has no camera images" in error
    assert f"/fix [sensor_msgs/msg/NavSatFix] ({FRAMES} messages)" in error
    assert not (tmp_path / "out").exists()
    named = main(["replay", str(bag), "--tiles", str(world["ortho"]), "--camera-topic", "/cam"])
    assert named == 1
    assert "camera image topic /cam is not in" in capsys.readouterr().err


def test_a_bag_that_does_not_record_its_view_type_needs_the_flag(
    world: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An independent bag has no sky2ground metadata: replay asks, it does not guess."""
    bag = write_bag(tmp_path / "plain", "mcap", world)
    argv = ["replay", str(bag), "--tiles", str(world["ortho"]), "--out", str(tmp_path / "out")]
    assert main([*argv, "--no-progress"]) == 1
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "pass --view-type ground|aerial" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("storage", list(STORAGES))
def test_truncated_bag_replays_what_is_readable(
    storage: str, world: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = write_bag(tmp_path / "full", storage, world)
    cut = tmp_path / "cut"
    cut.mkdir()
    shutil.copy(bag / "metadata.yaml", cut)
    (storage_file,) = [p for p in bag.iterdir() if p.suffix in (".mcap", ".db3")]
    data = storage_file.read_bytes()
    (cut / storage_file.name).write_bytes(data[: len(data) * 6 // 10])
    assert replay_cli(cut, world, tmp_path / "out", "--params-file", str(world["params"])) == 0
    printed = capsys.readouterr().out
    summary = json.loads((tmp_path / "out/report.json").read_text())["summary"]
    assert 0 < summary["frames"] < FRAMES
    assert summary["bag_damage"]
    where = "record at byte" if storage == "mcap" else "unreadable after row"
    assert where in summary["stopped"] and summary["stopped"].startswith("stopped after")
    assert f"stopped: {summary['stopped']}" in printed
    with Reader(tmp_path / "out/bag") as reader:
        assert reader.topics["/cam/image_raw"].msgcount == summary["frames"]


def test_a_bag_holding_only_the_mcap_header_is_refused_in_one_line(
    world: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "header_only.mcap"
    bag.write_bytes(b"\x89MCAP0\r\n")
    assert replay_cli(bag, world, tmp_path / "out") == 1
    error = capsys.readouterr().err.strip()
    assert error == f"replay: {bag} is not a readable rosbag2: its storage holds no readable topic"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("cut_bytes", [None, 120_000])
def test_too_little_ground_truth_still_writes_the_report(
    cut_bytes: int | None, world: dict, tmp_path: Path
) -> None:
    """One fix and one ground-truth pose (also in a bag cut to 120 kB): n/a metrics, the reason."""
    bag = write_bag(tmp_path / "bag", "mcap", world, fixes=1, truth=1)
    if cut_bytes is not None:
        (storage_file,) = bag.glob("*.mcap")
        storage_file.write_bytes(storage_file.read_bytes()[:cut_bytes])
    assert replay_cli(bag, world, tmp_path / "out") == 0
    report = json.loads((tmp_path / "out/report.json").read_text())
    assert report["summary"]["frames"] > 0 and bool(report["summary"]["stopped"]) == bool(cut_bytes)
    assert report["errors"] and all(stats is None for stats in report["errors"].values())
    assert "GNSS fixes: no poses to compare" in report["note"]
    markdown = (tmp_path / "out/report.md").read_text()
    assert "| GNSS fix horizontal, input prior (m) | n/a | n/a | n/a | n/a | 0 |" in markdown


def test_a_salvaged_bag_keeps_its_recorded_view_type(world: dict, tmp_path: Path) -> None:
    """A cut bag's metadata.yaml still says what make-bag recorded, so replay need not ask."""
    bag = write_bag(tmp_path / "bag", "mcap", world, fixes=1)
    metadata = yaml.safe_load((bag / "metadata.yaml").read_text())
    metadata["rosbag2_bagfile_information"]["custom_data"] = {VIEW_TYPE_KEY: "aerial"}
    (bag / "metadata.yaml").write_text(yaml.safe_dump(metadata))
    (storage_file,) = bag.glob("*.mcap")
    storage_file.write_bytes(storage_file.read_bytes()[:50_000])
    with BagReader(bag) as reader:
        assert reader.damage and reader.custom_data == {VIEW_TYPE_KEY: "aerial"}
