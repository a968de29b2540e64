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
from sky2ground_ros.geo.satellite_crops import MIN_COVERAGE, CropPlan, SatelliteCrop, render_crops
from sky2ground_ros.localizer.codec import EncodedImages, ImageCodec
from sky2ground_ros.localizer.gate import GateConfig, gate_rejection
from sky2ground_ros.localizer.geometry import base_from_camera, transform
from sky2ground_ros.localizer.keyframes import FrameSet
from sky2ground_ros.localizer.location import (
    CameraGeometry,
    camera_geometry,
    located_camera,
    location_prior,
    prior_pull,
)
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
from sky2ground_ros.model.location_head import (
    LocationGeometry,
    LocationOutput,
    location_crop_plan,
    read_location,
)
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.tiles.service import TileStatus
from sky2ground_ros.views import ViewType

MIN_CONFIDENCE = 1e-6
"""Floor of pose confidences fed to registration (which needs them positive)."""
GROUND_Z = 0.0
"""ENU height of the ground in the map frame (its origin is taken at ground altitude)."""


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
    mode: str = "auto"
    """'location' (the location head finds each camera on satellite crops), 'sim3' (tile
    cameras registered through a Sim(3), the paper's mode) or 'auto' (location when the
    model has a location head)."""
    min_location_mass: float = 0.3
    """Location mode's gate: probability the map puts within 2 cells of its peak."""
    unknown_prior_sigma_m: float = 25.0
    """Position sigma of a prior that reports none (a last pose, the initial pose, a fix
    without covariance): location mode's read-out weighs the map against it."""

    def __post_init__(self) -> None:
        if not self.unknown_prior_sigma_m > 0:
            raise ValueError(f"unknown_prior_sigma_m must be > 0, got {self.unknown_prior_sigma_m}")


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
    crops: CropWindow | None = None
    """Location mode: the crops' layout around the prior and every camera's geometry."""


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
    location: LocationOutput | None = None
    """Location mode: the location head's maps of the camera frames."""


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
    prior: GeoPrior | None = None
    """The prior the window was localized around."""

    @property
    def prior_source(self) -> str:
        """'gnss', 'last pose', 'initial pose', or '' without a prior."""
        return "" if self.prior is None else self.prior.source

    @property
    def ok(self) -> bool:
        return self.pose is not None


def run_model(
    model: SkyNet,
    images: torch.Tensor,
    view_types: list[ViewType],
    geometry: LocationGeometry | None = None,
) -> WindowPrediction:
    """SkyNet on one [S, 3, H, W] uint8 batch; the in-process and the remote path both use it."""
    out = model.predict(images, view_types, geometry)
    return WindowPrediction(
        out.extrinsics.double().cpu().numpy(),
        out.intrinsics.double().cpu().numpy(),
        out.pose_conf.double().cpu().numpy(),
        location=out.location,
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
        self.on_map = _uses_location_head(config.mode, model)
        if self.on_map and model is not None:
            size = model.config.location_image_size
            if config.image_size != size:
                raise ValueError(
                    f"image_size {config.image_size} differs from the {size} px the model's "
                    "location head runs at"
                )
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
        result.prior = request.prior
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
        cameras = [(fs, i, name) for fs in request.frames for i, name in enumerate(fs.camera_names)]
        missing = sorted({name for _, _, name in cameras} - set(request.cameras))
        if missing:
            raise RejectedWindowError("model", f"no mount (view type, extrinsic) for {missing}")
        view_types = [request.cameras[name].view_type for _, _, name in cameras]
        crop_window = None
        if self.on_map:
            crop_window = self._crop_window(request, tile_frames.frame)
            tiles: list[TileFrame] = []
            satellite_images = [c.image for c in crop_window.crops]
            satellite_K = [c.camera()[0] for c in crop_window.crops]
        else:
            try:
                tiles = tile_frames.around(prior.latitude, prior.longitude)
            except NoTilesError as error:
                raise RejectedWindowError("tiles", error.reason) from error
            satellite_images = [t.image for t in tiles]
            satellite_K = [t.K for t in tiles]
        view_types += [ViewType.SATELLITE] * len(satellite_images)
        images = [fs.images[i] for fs, i, _ in cameras] + satellite_images
        intrinsics = [fs.intrinsics[i] for fs, i, _ in cameras] + satellite_K
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
            crop_window,
        )

    def _crop_window(self, request: WindowRequest, frame: LocalENU) -> CropWindow:
        """The crops around the prior and each camera's level frame and height."""
        if self.model is None:
            raise RuntimeError("the location path runs an in-process model")
        prior = request.prior
        cameras = [(fs, name) for fs in request.frames for name in fs.camera_names]
        view_type = request.cameras[request.frames[-1].camera_names[0]].view_type
        plan = location_crop_plan(self.model.config, view_type)
        altitude = 0.0 if prior.altitude is None else prior.altitude
        prior_enu = frame.from_geodetic(prior.latitude, prior.longitude, altitude)
        prior_xy = np.array([float(prior_enu[0]), float(prior_enu[1])])
        prior_z = float(prior_enu[2]) if prior.altitude is not None else None
        try:
            geometry = [
                camera_geometry(
                    request.cameras[name].view_type,
                    request.cameras[name].T_base_camera,
                    fs.odom,
                    prior_z,
                    GROUND_Z,
                )
                for fs, name in cameras
            ]
        except ValueError as error:
            raise RejectedWindowError("prior", str(error)) from error
        q = self.config.tiles
        response = self._provider(prior.latitude, prior.longitude, plan.radius_m, q.zoom)
        if response.status in (TileStatus.NO_COVERAGE, TileStatus.ERROR) or not response.tiles:
            where = f"({prior.latitude:.6f}, {prior.longitude:.6f})"
            raise RejectedWindowError("tiles", f"no tiles around {where}: {response.message}")
        crops = render_crops(list(response.tiles), frame, prior_xy, plan, GROUND_Z)
        covered = float(np.mean([c.coverage for c in crops]))
        if covered < MIN_COVERAGE:
            raise RejectedWindowError("tiles", f"imagery covers {100 * covered:.0f}% of the crops")
        return CropWindow(plan, prior_xy, crops, geometry, view_type)

    def predict(self, prepared: PreparedWindow) -> WindowPrediction:
        """Run SkyNet on the window (on the model's device, or through the predictor)."""
        if self._predictor is not None:
            return self._predictor(prepared)
        if self.model is None:
            raise RuntimeError("Localizer has neither a model nor a predictor")
        try:
            crops = prepared.crops
            geometry = None if crops is None else crops.geometry_tensors(prepared.intrinsics)
            return run_model(self.model, prepared.images, prepared.view_types, geometry)
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
        return self._smoothed(request, T_map_base, covariance, reason), fit, newest_conf

    def _smoothed(
        self,
        request: WindowRequest,
        T_map_base: np.ndarray,  # noqa: N803 - a pose, as everywhere in the localizer
        covariance: np.ndarray,
        gate_reason: str | None,
        correlated: np.ndarray | None = None,
    ) -> PoseEstimate:
        """The smoother's pose after a fix that passed its gate (else `RejectedWindowError`);
        ``correlated``: the fix's position covariance shared with earlier fixes (its prior's)."""
        if gate_reason is not None:
            raise RejectedWindowError("gate", gate_reason)
        quaternion = Rotation.from_matrix(T_map_base[:3, :3]).as_quat()
        fix = PoseEstimate(request.stamp, T_map_base[:3, 3].copy(), quaternion, covariance)
        smoothed = self._smoother.update(fix, request.frames[-1].odom, correlated)
        if smoothed is None:
            raise RejectedWindowError("jump", "pose jumped beyond the smoother's gate")
        return smoothed

    def geolocate_on_map(
        self, request: WindowRequest, prepared: PreparedWindow, prediction: WindowPrediction
    ) -> tuple[PoseEstimate, int, float]:
        """Location path: the newest cameras' map peaks given the priors, fused, gated, smoothed.

        Returns the smoothed base pose, how many cameras gave a map and their lowest peak
        mass; raises `RejectedWindowError` when any step refuses the window.
        """
        window, location = prepared.crops, prediction.location
        if window is None or location is None:
            raise RejectedWindowError("model", "the model gave no location maps")
        newest = request.frames[-1]
        first = prepared.num_cameras - len(newest.camera_names)
        temperature = (
            1.0
            if self.model is None
            else self.model.config.location_temperature_for(window.view_type)
        )
        sigma = request.prior.sigma_m or self.config.unknown_prior_sigma_m
        tracked = self._smoother.predict(request.stamp, newest.odom)
        estimates, masses, shared = [], [], []
        for k, name in enumerate(newest.camera_names):
            index = first + k
            if not bool(location.valid[index]):
                continue
            prior = location_prior(sigma, tracked, request.cameras[name].T_base_camera)
            reading = read_location(
                location.logits[index], float(location.cell_m), prior, temperature
            )
            T_map_camera, covariance = located_camera(
                reading,
                window.cameras[index],
                window.plan,
                window.prior_xy,
                window.view_type,
            )
            mount = request.cameras[name].T_base_camera
            estimates.append(base_from_camera(T_map_camera, covariance, mount))
            pull = prior_pull(location.logits[index], float(location.cell_m), prior, temperature)
            shared.append(prior_share(pull, sigma, covariance[2, 2]))
            masses.append(reading.peak_mass)
        if not estimates:
            raise RejectedWindowError("model", "no newest camera saw enough ground for a map")
        T_map_base, covariance = _fuse(estimates)
        correlated = np.einsum("k,kij->ij", _fusion_weights(estimates), np.stack(shared))
        mass = min(masses)
        reason = location_rejection(self.config, covariance, mass)
        smoothed = self._smoothed(request, T_map_base, covariance, reason, correlated)
        return smoothed, len(estimates), mass

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
            if prepared.crops is not None:
                pose, inliers, result.pose_confidence = self.geolocate_on_map(
                    request, prepared, prediction
                )
            else:
                pose, fit, result.pose_confidence = self.geolocate(request, prepared, prediction)
                inliers = len(fit.inliers)
            lat, lon, alt = prepared.origin.to_geodetic(*pose.position)
        finally:
            timings["registration"] = _ms(start)
        result.inliers = inliers
        result.pose = pose
        result.geodetic = (float(lat), float(lon), float(alt))


class RejectedWindowError(Exception):
    """A stage refused the window; `Localizer.process` turns it into the result's rejection."""

    def __init__(self, category: str, reason: str) -> None:
        super().__init__(reason)
        self.category = category
        self.reason = reason


@dataclass(frozen=True)
class CropWindow:
    """Location mode: the crop plan around the prior, its crops and every camera's geometry."""

    plan: CropPlan
    prior_xy: np.ndarray
    crops: list[SatelliteCrop]
    cameras: list[CameraGeometry]
    """In batch order of the camera frames."""
    view_type: ViewType

    def geometry_tensors(self, intrinsics: list[np.ndarray]) -> LocationGeometry:
        """The location head's inputs for this window (batch of one) and its camera frames' K."""
        level = np.stack([c.level_from_camera for c in self.cameras])[None]
        heights = np.array([[c.height_m for c in self.cameras]])
        K = np.stack(intrinsics[: len(self.cameras)])[None]
        return LocationGeometry(
            intrinsics=torch.from_numpy(K).float(),
            level_from_camera=torch.from_numpy(level).float(),
            height_m=torch.from_numpy(heights).float(),
            gsd_m=torch.tensor([self.plan.gsd_m], dtype=torch.float32),
            grid=self.plan.grid,
            step_px=self.plan.step_px,
        )


def location_rejection(config: LocalizerConfig, covariance: np.ndarray, mass: float) -> str | None:
    """The location path's gate: the position's spread and the map's mass at its peak."""
    sigma = float(np.sqrt(max(np.linalg.eigvalsh(covariance[:3, :3]).max(), 0.0)))
    limit = config.gate.max_position_sigma_m
    if not np.isfinite(sigma) or sigma > limit:
        return f"position sigma {sigma:.1f} m > {limit} m"
    if mass < config.min_location_mass:
        return f"map mass at its peak {mass:.2f} < {config.min_location_mass}"
    return None


def _uses_location_head(mode: str, model: SkyNet | None) -> bool:
    """Whether a localizer of this mode and model runs the location path."""
    has_head = model is not None and model.config.location_head
    if mode == "auto":
        return has_head
    if mode == "location":
        if not has_head:
            raise ValueError("mode 'location' needs a model with a location head")
        return True
    if mode == "sim3":
        return False
    raise ValueError(f"localizer mode must be auto, location or sim3, not {mode!r}")


def _fuse(estimates: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One base pose from per-camera estimates (inverse-variance weights).

    The estimates share one registration, so their errors are correlated: the covariance is
    the weighted mean of theirs (not the smaller information sum) plus their spread.
    """
    if len(estimates) == 1:
        return estimates[0]
    poses = np.stack([T for T, _ in estimates])
    covariances = np.stack([C for _, C in estimates])
    weights = _fusion_weights(estimates)
    position = weights @ poses[:, :3, 3]
    rotation = Rotation.from_matrix(poses[:, :3, :3]).mean(weights).as_matrix()
    spread = poses[:, :3, 3] - position
    covariance = np.einsum("k,kij->ij", weights, covariances)
    covariance[:3, :3] += np.einsum("k,ki,kj->ij", weights, spread, spread)
    return transform(rotation, position), covariance


def _fusion_weights(estimates: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Normalised inverse-variance weights of per-camera estimates (position trace)."""
    weights = 1.0 / np.array([np.trace(C[:3, :3]) for _, C in estimates])
    return weights / weights.sum()


def prior_share(pull: np.ndarray, prior_sigma_m: float, vertical: float) -> np.ndarray:
    """The part of a read-out's 3x3 position covariance that is its prior's error.

    ``pull`` is how far the read-out's nadir follows its prior (`prior_pull`); the height is
    the prior's or the ground model's, all of it shared from window to window.
    """
    shared = np.zeros((3, 3))
    shared[:2, :2] = prior_sigma_m**2 * pull @ pull.T
    shared[2, 2] = vertical
    return shared


def _registered(covariance: np.ndarray, fit: RegistrationResult) -> np.ndarray:
    """A covariance of the prediction's frame carried into ENU by the registration."""
    jacobian = np.zeros((6, 6))
    jacobian[:3, :3] = fit.sim3.scale * fit.sim3.rotation
    jacobian[3:, 3:] = fit.sim3.rotation
    return jacobian @ covariance @ jacobian.T


def _ms(start: float) -> float:
    return 1000.0 * (time.perf_counter() - start)
