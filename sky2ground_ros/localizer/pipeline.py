"""The localizer without ROS: keyframe window + satellite tiles → SkyNet → Sim(3) → gated pose.

`Localizer.process` runs one window synchronously (replay and tests); `Localizer.submit`
hands it to the single inference thread (`worker.InferenceWorker`), whose one-slot mailbox
drops stale windows instead of queueing them, and reports through ``on_result``.

Per window: tiles around the prior (cached per tile), the camera frames then the tiles as
satellite frames (frame 0 is a camera frame, as masked satellite attention requires),
`SkyNet.predict` (in-process, or a `Predictor` such as the ROS client of a remote
``skynet_inference`` node), `register_window` against the tiles' known ENU cameras, the base pose
from each newest camera through its ``base → camera`` mount, the confidence gate, then the
Kalman/slerp smoother. Any failure yields a result with a rejection and no pose.

With ``LocalizerConfig.codec`` set, every image of the window goes through that codec
(`codec.ImageCodec`) before the model: a remote predictor sends the encoded bytes, the local
model sees them decoded in-process, so both modes feed the model the same pixels.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.geo.registration import (
    RegistrationConfig,
    RegistrationResult,
    register_tiles,
)
from sky2ground_ros.localizer.codec import EncodedImages, ImageCodec
from sky2ground_ros.localizer.gate import GateConfig, gate_rejection
from sky2ground_ros.localizer.geometry import base_from_camera, transform
from sky2ground_ros.localizer.keyframes import FrameSet
from sky2ground_ros.localizer.preprocess import batch_tensor
from sky2ground_ros.localizer.prior import GeoPrior
from sky2ground_ros.localizer.smoothing import PoseEstimate, PoseSmoother, SmoothingConfig
from sky2ground_ros.localizer.tile_frames import (
    NoTilesError,
    TileFrame,
    TileFrames,
    TileProvider,
    TileQuery,
)
from sky2ground_ros.localizer.worker import InferenceWorker
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.views import ViewType

MIN_CONFIDENCE = 1e-6
"""Floor of pose confidences fed to registration (which needs them positive)."""


@dataclass(frozen=True)
class CameraMount:
    """What the localizer needs to know about one camera stream."""

    view_type: ViewType
    T_base_camera: np.ndarray
    """Pose of the camera's optical frame in the base frame (4x4)."""


@dataclass(frozen=True)
class LocalizerConfig:
    """Model input size, tile query, registration and gate thresholds, smoothing."""

    image_size: int = 224
    tiles: TileQuery = field(default_factory=TileQuery)
    gate: GateConfig = field(default_factory=GateConfig)
    registration: RegistrationConfig = field(default_factory=RegistrationConfig)
    ground_altitude_m: float = 0.0
    """Ellipsoidal height of the map origin when it is taken from a prior."""
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    codec: ImageCodec | None = None
    """Encoding every window image passes through (None: the images as they are)."""


@dataclass(frozen=True)
class WindowRequest:
    """One window to localize: keyframe sets (oldest first, images at model size) and context."""

    frames: list[FrameSet]
    prior: GeoPrior
    cameras: Mapping[str, CameraMount]
    received: float = field(default_factory=time.monotonic)
    """Monotonic time the newest frame set arrived (for latency)."""
    timings: Mapping[str, float] = field(default_factory=dict)
    """Milliseconds already spent on the newest frame set (decode, preprocess)."""

    @property
    def stamp(self) -> float:
        return self.frames[-1].stamp


@dataclass(frozen=True)
class PreparedWindow:
    """A window ready for the model: camera frames first, then the tiles."""

    origin: LocalENU
    num_cameras: int
    view_types: list[ViewType]
    tiles: list[TileFrame]
    images: torch.Tensor
    """[S, 3, H, W] uint8: what the model sees (after the codec's round trip)."""
    intrinsics: list[np.ndarray]
    """3x3 K of every image at the model size."""
    encoded: list[bytes] = field(default_factory=list)
    """The images encoded by the codec (only when a remote predictor or a lossy codec needs
    them)."""
    frames: list[tuple[float, str]] = field(default_factory=list)
    """(stamp, camera name) of every camera frame, in batch order."""


@dataclass(frozen=True)
class WindowPrediction:
    """The model's world-to-camera extrinsics, intrinsics and pose confidence per frame."""

    extrinsics: np.ndarray
    intrinsics: np.ndarray
    confidence: np.ndarray
    covariance: np.ndarray | None = None
    """(F, 6, 6) pose covariance of each frame in the prediction's own frame and units (ROS
    order), from a backend that measures it (the classical matcher); None: the registration
    residuals and the confidences set it."""


@dataclass
class LocalizationResult:
    """A smoothed base pose in the map frame, or why the window produced none."""

    stamp: float
    received: float
    pose: PoseEstimate | None = None
    geodetic: tuple[float, float, float] | None = None
    """Latitude, longitude (deg) and ellipsoidal height (m) of the base."""
    category: str = "ok"
    """'ok' or the rejection kind: prior, tiles, model, registration, gate, jump."""
    rejection: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    """Milliseconds per stage: decode, preprocess, tiles+batch, model, registration, publish."""
    tiles: int = 0
    inliers: int = 0
    pose_confidence: float = float("nan")
    prior_source: str = ""

    @property
    def ok(self) -> bool:
        return self.pose is not None


def run_model(model: SkyNet, images: torch.Tensor, view_types: list[ViewType]) -> WindowPrediction:
    """SkyNet on one [S, 3, H, W] uint8 batch; the in-process and the remote path both use it."""
    out = model.predict(images, view_types)
    return WindowPrediction(
        out.extrinsics.double().cpu().numpy(),
        out.intrinsics.double().cpu().numpy(),
        out.pose_conf.double().cpu().numpy(),
    )


def select_device(name: str) -> torch.device:
    """'auto' → CUDA when present, else CPU; 'cuda' without a GPU is an error."""
    name = name.strip().lower() or "auto"
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available")
    return device


Predictor = Callable[[PreparedWindow], WindowPrediction]
"""Runs the model on a prepared window somewhere else; raises `RejectedWindowError` when it
cannot answer."""


class Localizer:
    """Geo-localizes windows of camera frames with one loaded SkyNet (or a remote predictor)."""

    def __init__(
        self,
        model: SkyNet | None,
        tile_provider: TileProvider,
        config: LocalizerConfig,
        origin: LocalENU | None = None,
        on_result: Callable[[LocalizationResult], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        predictor: Predictor | None = None,
    ) -> None:
        if (model is None) == (predictor is None):
            raise ValueError("give either a model or a predictor")
        if model is not None:
            patch = model.config.patch_size
            if config.image_size < patch or config.image_size % patch:
                raise ValueError(f"image_size {config.image_size} must be a multiple of {patch}")
        self.model = model
        self._predictor = predictor
        self.config = config
        self._encoded = EncodedImages(config.codec, capacity=64) if config.codec else None
        self._provider = tile_provider
        self._tiles: TileFrames | None = None
        self._origin: LocalENU | None = None
        if origin is not None:
            self._set_origin(origin)
        self._smoother = PoseSmoother(config.smoothing)
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._errors = 0
        self._on_error = on_error
        self._worker: InferenceWorker[WindowRequest, LocalizationResult] | None = None
        if on_result is not None:
            self._worker = InferenceWorker(self.process, on_result, self._failed, "skynet")

    @property
    def origin(self) -> LocalENU | None:
        """The map frame's geodetic origin, once known."""
        return self._origin

    @property
    def last_tile_message(self) -> str:
        """The tile source's answer to the latest request."""
        return self._tiles.last_message if self._tiles is not None else ""

    def submit(self, request: WindowRequest) -> bool:
        """Queue a window for the inference thread; False when it replaced a stale one."""
        if self._worker is None:
            raise RuntimeError("Localizer was built without on_result: use process()")
        return self._worker.submit(request)

    def process(self, request: WindowRequest) -> LocalizationResult:
        """Localize one window synchronously."""
        result = LocalizationResult(request.stamp, request.received, timings=dict(request.timings))
        result.prior_source = request.prior.source
        try:
            self._localize(request, result)
        except RejectedWindowError as rejected:
            result.category, result.rejection = rejected.category, rejected.reason
        with self._lock:
            self._counts[result.category] += 1
        return result

    def reset(self) -> None:
        """Forget the smoothed pose (time jumped backwards, relocalisation)."""
        self._smoother.reset()

    def stats(self) -> dict[str, int]:
        """Counts of results by category, errors and stale windows dropped."""
        with self._lock:
            counts = dict(self._counts)
            counts["internal errors"] = self._errors
        counts["dropped stale"] = self._worker.dropped_stale if self._worker else 0
        return counts

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the inference thread has nothing to do (tests, benchmarks)."""
        return self._worker.wait_idle(timeout) if self._worker else True

    def close(self) -> None:
        """Stop the inference thread (a running window finishes first)."""
        if self._worker is not None:
            self._worker.close()

    def _set_origin(self, origin: LocalENU) -> None:
        self._origin = origin
        self._tiles = TileFrames(self._provider, origin, self.config.image_size, self.config.tiles)

    def _failed(self, error: Exception) -> None:
        with self._lock:
            self._errors += 1
        if self._on_error is not None:
            self._on_error(error)

    def prepare(self, request: WindowRequest) -> PreparedWindow:
        """Tiles around the prior and the model batch: camera frames first, then the tiles."""
        prior = request.prior
        if self._tiles is None:
            self._set_origin(
                LocalENU(prior.latitude, prior.longitude, self.config.ground_altitude_m)
            )
        tile_frames = self._tiles
        if tile_frames is None:
            raise RuntimeError("map origin not set")
        try:
            tiles = tile_frames.around(prior.latitude, prior.longitude)
        except NoTilesError as error:
            raise RejectedWindowError("tiles", error.reason) from error
        cameras = [(fs, i, name) for fs in request.frames for i, name in enumerate(fs.camera_names)]
        missing = sorted({name for _, _, name in cameras} - set(request.cameras))
        if missing:
            raise RejectedWindowError("model", f"no mount (view type, extrinsic) for {missing}")
        view_types = [request.cameras[name].view_type for _, _, name in cameras]
        view_types += [ViewType.SATELLITE] * len(tiles)
        images = [fs.images[i] for fs, i, _ in cameras] + [t.image for t in tiles]
        intrinsics = [fs.intrinsics[i] for fs, i, _ in cameras] + [t.K for t in tiles]
        codec = self.config.codec
        encoded: list[bytes] = []
        if self._encoded is not None and (self._predictor is not None or not codec.lossless):
            pairs = [self._encoded.get(image) for image in images]
            encoded = [data for data, _ in pairs]
            images = [seen for _, seen in pairs]
        return PreparedWindow(
            tile_frames.frame,
            len(cameras),
            view_types,
            tiles,
            batch_tensor(images),
            intrinsics,
            encoded,
            [(fs.stamp, name) for fs, _, name in cameras],
        )

    def predict(self, prepared: PreparedWindow) -> WindowPrediction:
        """Run SkyNet on the window (on the model's device, or through the predictor)."""
        if self._predictor is not None:
            return self._predictor(prepared)
        if self.model is None:
            raise RuntimeError("Localizer has neither a model nor a predictor")
        try:
            return run_model(self.model, prepared.images, prepared.view_types)
        except RuntimeError as error:  # e.g. CUDA out of memory: skip the window, keep going
            raise RejectedWindowError("model", f"inference failed: {error}") from error

    def geolocate(
        self, request: WindowRequest, prepared: PreparedWindow, prediction: WindowPrediction
    ) -> tuple[PoseEstimate, RegistrationResult, float]:
        """Sim(3) to ENU, base pose from the newest frame set, gate and smoothing.

        Returns the smoothed base pose, the registration and the newest frames' lowest pose
        confidence; raises `RejectedWindowError` when any step refuses the window.
        """
        confidence = np.where(np.isfinite(prediction.confidence), prediction.confidence, 0.0)
        confidence = np.maximum(confidence, MIN_CONFIDENCE)
        satellite = np.arange(prepared.num_cameras, len(prepared.view_types))
        fit = register_tiles(
            prediction.extrinsics[satellite],
            np.stack([t.extrinsic for t in prepared.tiles]),
            confidence[satellite],
            self.config.registration,
        )
        if not fit.ok:
            raise RejectedWindowError("registration", fit.reason)

        newest = request.frames[-1]
        first = prepared.num_cameras - len(newest.camera_names)
        estimates = []
        for k, name in enumerate(newest.camera_names):
            extrinsic = prediction.extrinsics[first + k]
            if not np.all(np.isfinite(extrinsic)):
                continue
            geo = fit.camera_pose(extrinsic, prepared.origin, float(confidence[first + k]))
            covariance = geo.covariance
            if prediction.covariance is not None:
                covariance = covariance + _registered(prediction.covariance[first + k], fit)
            T_map_camera = transform(geo.rotation_enu, geo.position_enu)
            mount = request.cameras[name].T_base_camera
            estimates.append(base_from_camera(T_map_camera, covariance, mount))
        if not estimates:
            raise RejectedWindowError("registration", "no finite pose for the newest frames")
        T_map_base, covariance = _fuse(estimates)
        newest_frames = slice(first, prepared.num_cameras)
        newest_conf = float(confidence[newest_frames].min())
        known_focal = np.array([K[0, 0] for K in newest.intrinsics])
        focal_error = float(
            np.abs(prediction.intrinsics[newest_frames, 0, 0] / known_focal - 1.0).max()
        )
        reason = gate_rejection(self.config.gate, fit, covariance, newest_conf, focal_error)
        if reason is not None:
            raise RejectedWindowError("gate", reason)

        quaternion = Rotation.from_matrix(T_map_base[:3, :3]).as_quat()
        fix = PoseEstimate(request.stamp, T_map_base[:3, 3].copy(), quaternion, covariance)
        smoothed = self._smoother.update(fix, newest.odom)
        if smoothed is None:
            raise RejectedWindowError("jump", "pose jumped beyond the smoother's gate")
        return smoothed, fit, newest_conf

    def _localize(self, request: WindowRequest, result: LocalizationResult) -> None:
        """Fill ``result`` stage by stage with timings; a rejection stops at its stage."""
        timings = result.timings
        start = time.perf_counter()
        try:
            prepared = self.prepare(request)
        finally:
            timings["tiles+batch"] = _ms(start)
        result.tiles = len(prepared.tiles)
        start = time.perf_counter()
        prediction = self.predict(prepared)
        timings["model"] = _ms(start)
        start = time.perf_counter()
        try:
            pose, fit, result.pose_confidence = self.geolocate(request, prepared, prediction)
            lat, lon, alt = prepared.origin.to_geodetic(*pose.position)
        finally:
            timings["registration"] = _ms(start)
        result.inliers = len(fit.inliers)
        result.pose = pose
        result.geodetic = (float(lat), float(lon), float(alt))


class RejectedWindowError(Exception):
    """A stage refused the window; `Localizer.process` turns it into the result's rejection."""

    def __init__(self, category: str, reason: str) -> None:
        super().__init__(reason)
        self.category = category
        self.reason = reason


def _fuse(estimates: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One base pose from per-camera estimates (inverse-variance weights).

    The estimates share one registration, so their errors are correlated: the covariance is
    the weighted mean of theirs (not the smaller information sum) plus their spread.
    """
    if len(estimates) == 1:
        return estimates[0]
    poses = np.stack([T for T, _ in estimates])
    covariances = np.stack([C for _, C in estimates])
    weights = 1.0 / np.trace(covariances[:, :3, :3], axis1=1, axis2=2)
    weights /= weights.sum()
    position = weights @ poses[:, :3, 3]
    rotation = Rotation.from_matrix(poses[:, :3, :3]).mean(weights).as_matrix()
    spread = poses[:, :3, 3] - position
    covariance = np.einsum("k,kij->ij", weights, covariances)
    covariance[:3, :3] += np.einsum("k,ki,kj->ij", weights, spread, spread)
    return transform(rotation, position), covariance


def _registered(covariance: np.ndarray, fit: RegistrationResult) -> np.ndarray:
    """A covariance of the prediction's frame carried into ENU by the registration."""
    jacobian = np.zeros((6, 6))
    jacobian[:3, :3] = fit.sim3.scale * fit.sim3.rotation
    jacobian[3:, 3:] = fit.sim3.rotation
    return jacobian @ covariance @ jacobian.T


def _ms(start: float) -> float:
    return 1000.0 * (time.perf_counter() - start)
