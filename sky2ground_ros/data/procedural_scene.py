"""Procedural geo-referenced sites: terrain, street grid, buildings, trees and lighting.

A site is a small town centred on the ENU origin: a rotated street grid with a dense
downtown core (tall flat-roofed blocks with roof-top structures), residential blocks (low
houses with gable or hip roofs and garden trees), parks and plazas, street trees on the
sidewalks, and outskirts (houses along the arterial roads, forest clusters, a patchwork of
fields drawn by the terrain texture). Everything is an analytic primitive so the ray caster
(`raycast_renderer`) gets exact depth:

* terrain: a smooth height field ``h(x, y)`` = sum of a few long-wavelength sinusoids with
  a known Lipschitz bound (slopes of a few percent), ``h(0, 0) = 0``;
* convex polyhedra of at most six half-spaces ``n . x <= d``: building bodies and tree trunks
  (boxes), gable and hip roofs (five planes), roof-top structures (boxes);
* vertical-axis ellipsoids: tree canopies.

Roads, sidewalks, lane markings, parks, plazas and fields are textures of the terrain (see
`shading`). Generation is deterministic in the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import torch

from sky2ground_ros.data.scene_format import GeoReference


class PrimKind(IntEnum):
    """What a polyhedron or ellipsoid is; selects its material."""

    BODY = 0
    ROOF = 1
    ROOFTOP = 2
    TRUNK = 3
    CANOPY = 4


class LandUse(IntEnum):
    """Ground cover of a city block (inside the sidewalks)."""

    DOWNTOWN = 0
    RESIDENTIAL = 1
    PARK = 2
    PLAZA = 3


DUMMY_PLANE = (0.0, 0.0, 0.0, 1.0)
"""Padding half-space ``0 . x <= 1`` that every point satisfies."""


@dataclass(frozen=True)
class Terrain:
    """Height field ``h(x, y) = sum_k A_k sin(w_k . (x, y) + phi_k) - h0`` with ``h(0,0)=0``."""

    amplitudes: np.ndarray
    wave_vectors: np.ndarray
    phases: np.ndarray

    @property
    def lipschitz(self) -> float:
        """Upper bound of the slope ``|grad h|``."""
        return float(np.sum(np.abs(self.amplitudes) * np.linalg.norm(self.wave_vectors, axis=1)))

    @property
    def height_bounds(self) -> tuple[float, float]:
        """Lower and upper bound of ``h`` anywhere."""
        total = float(np.sum(np.abs(self.amplitudes)))
        h0 = float(np.sum(self.amplitudes * np.sin(self.phases)))
        return -total - h0, total - h0

    def height(self, x, y):
        """Terrain height at (x, y); works on numpy arrays and torch tensors."""
        sin = torch.sin if isinstance(x, torch.Tensor) else np.sin
        h = 0.0
        for a, (kx, ky), phi in zip(self.amplitudes, self.wave_vectors, self.phases, strict=True):
            h = h + float(a) * sin(float(kx) * x + float(ky) * y + float(phi))
        return h - float(np.sum(self.amplitudes * np.sin(self.phases)))

    def gradient(self, x, y):
        """(dh/dx, dh/dy) at (x, y); works on numpy arrays and torch tensors."""
        cos = torch.cos if isinstance(x, torch.Tensor) else np.cos
        gx, gy = 0.0, 0.0
        for a, (kx, ky), phi in zip(self.amplitudes, self.wave_vectors, self.phases, strict=True):
            c = float(a) * cos(float(kx) * x + float(ky) * y + float(phi))
            gx = gx + float(kx) * c
            gy = gy + float(ky) * c
        return gx, gy


@dataclass(frozen=True)
class Lighting:
    """Directional sun + sky ambient + distance haze of one scene."""

    sun_direction: np.ndarray
    sun_color: np.ndarray
    ambient_color: np.ndarray
    sky_zenith: np.ndarray
    sky_horizon: np.ndarray
    haze_distance: float


@dataclass(frozen=True)
class ProceduralScene:
    """All geometry, materials and lighting of one generated site (ENU metres)."""

    name: str
    seed: int
    georef: GeoReference
    core_half_size: float
    outer_radius: float
    terrain: Terrain
    lighting: Lighting
    grid_angle: float
    core_extent: np.ndarray
    road_segments: np.ndarray
    road_widths: np.ndarray
    sidewalk_widths: np.ndarray
    core_road_count: int
    blocks: np.ndarray
    block_use: np.ndarray
    field_angle: float
    field_size: float
    poly_planes: np.ndarray
    poly_bounds: np.ndarray
    poly_kind: np.ndarray
    poly_owner: np.ndarray
    ell_center: np.ndarray
    ell_radii: np.ndarray
    ell_owner: np.ndarray
    facade_color: np.ndarray
    window_color: np.ndarray
    roof_color: np.ndarray
    floor_height: np.ndarray
    window_spacing: np.ndarray
    window_size: np.ndarray
    canopy_color: np.ndarray

    @property
    def texture_seed(self) -> int:
        """Seed of the procedural textures (31 bits)."""
        return int(self.seed) & 0x7FFFFFFF


_FACADES = np.array(
    [
        [0.86, 0.82, 0.74],
        [0.90, 0.89, 0.86],
        [0.62, 0.62, 0.63],
        [0.64, 0.37, 0.29],
        [0.77, 0.64, 0.47],
        [0.52, 0.58, 0.66],
        [0.80, 0.74, 0.62],
    ]
)
_FLAT_ROOFS = np.array(
    [[0.46, 0.46, 0.46], [0.62, 0.61, 0.58], [0.36, 0.34, 0.33], [0.7, 0.7, 0.68]]
)
_PITCHED_ROOFS = np.array(
    [[0.63, 0.30, 0.21], [0.30, 0.30, 0.33], [0.45, 0.31, 0.23], [0.32, 0.40, 0.36]]
)
_CANOPIES = np.array(
    [[0.20, 0.38, 0.14], [0.26, 0.42, 0.17], [0.16, 0.31, 0.13], [0.30, 0.44, 0.2]]
)
_AUTUMN = np.array([[0.62, 0.42, 0.12], [0.55, 0.25, 0.10], [0.58, 0.52, 0.16]])


class _Builder:
    """Accumulates primitives and per-building / per-tree attributes."""

    def __init__(self, rng: np.random.Generator, terrain: Terrain, autumn: float) -> None:
        self.rng = rng
        self.terrain = terrain
        self.autumn = autumn
        self.planes: list[np.ndarray] = []
        self.bounds: list[np.ndarray] = []
        self.kind: list[int] = []
        self.owner: list[int] = []
        self.ell: list[tuple[np.ndarray, np.ndarray, int]] = []
        self.buildings: list[dict[str, np.ndarray | float]] = []
        self.canopy_colors: list[np.ndarray] = []
        self.footprints: list[tuple[float, float, float]] = []

    def ground_under(self, center: np.ndarray, eu: np.ndarray, hu: float, hv: float) -> float:
        """Lowest terrain height under a rectangular footprint (corners and centre)."""
        ev = np.array([-eu[1], eu[0]])
        pts = [center + su * hu * eu + sv * hv * ev for su in (-1, 0, 1) for sv in (-1, 0, 1)]
        pts = np.array(pts)
        return float(np.min(self.terrain.height(pts[:, 0], pts[:, 1])))

    def add_poly(self, planes: list[tuple[float, float, float, float]], lo, hi, kind, owner):
        """Append one convex polyhedron (padded to six planes)."""
        padded = list(planes) + [DUMMY_PLANE] * (6 - len(planes))
        self.planes.append(np.array(padded, dtype=np.float64))
        self.bounds.append(np.array([lo, hi], dtype=np.float64))
        self.kind.append(int(kind))
        self.owner.append(owner)

    def add_box(self, center, eu, hu, hv, z_range: tuple[float, float], kind, owner) -> None:
        """Append an oriented box (footprint half sizes ``hu`` x ``hv``, z from z0 to z1)."""
        z0, z1 = z_range
        planes = _box_planes(center, eu, hu, hv, z0, z1)
        self.add_poly(planes, *_box_bounds(center, eu, hu, hv, z0, z1), kind, owner)

    def add_building(
        self,
        center: np.ndarray,
        angle: float,
        hu: float,
        hv: float,
        height: float,
        downtown: bool,
    ) -> None:
        """A building body, its pitched roof (low houses) or roof-top structures (towers)."""
        rng = self.rng
        b = len(self.buildings)
        eu = np.array([np.cos(angle), np.sin(angle)])
        z0 = self.ground_under(center, eu, hu, hv)
        tall = height > 14.0
        facade = _FACADES[rng.integers(len(_FACADES))] + rng.uniform(-0.05, 0.05, 3)
        glass = np.array([0.16, 0.21, 0.29]) + rng.uniform(-0.05, 0.06)
        pitched = not downtown and not tall and rng.random() < 0.85
        roofs = _PITCHED_ROOFS if pitched else _FLAT_ROOFS
        floor = rng.uniform(3.0, 3.6) if downtown else rng.uniform(2.7, 3.1)
        spacing = rng.uniform(2.2, 4.0)
        self.buildings.append(
            {
                "facade": np.clip(facade, 0, 1),
                "window": np.clip(glass, 0, 1),
                "roof": np.clip(
                    roofs[rng.integers(len(roofs))] + rng.uniform(-0.04, 0.04, 3), 0, 1
                ),
                "floor": floor,
                "spacing": spacing,
                "size": np.array([rng.uniform(0.35, 0.75), rng.uniform(0.4, 0.65)]),
            }
        )
        top = z0 + height
        self.add_box(center, eu, hu, hv, (z0 - 1.0, top), PrimKind.BODY, b)
        self.footprints.append((float(center[0]), float(center[1]), float(np.hypot(hu, hv))))
        if pitched:
            over = rng.uniform(0.3, 0.6)
            ru, rv = hu + over, hv + over
            axis = eu if ru >= rv else np.array([-eu[1], eu[0]])
            ru, rv = max(ru, rv), min(ru, rv)
            rise = rv * np.tan(np.radians(rng.uniform(24.0, 40.0)))
            hip = rng.random() < 0.35
            planes = (_hip_planes if hip else _gable_planes)(center, axis, ru, rv, top, rise)
            self.add_poly(
                planes, *_box_bounds(center, axis, ru, rv, top, top + rise), PrimKind.ROOF, b
            )
        elif tall:
            for _ in range(rng.integers(0, 4)):
                su, sv = rng.uniform(1.0, min(5.0, hu * 0.4)), rng.uniform(1.0, min(5.0, hv * 0.4))
                off = np.array([rng.uniform(-hu + su, hu - su), rng.uniform(-hv + sv, hv - sv)])
                c = center + off[0] * eu + off[1] * np.array([-eu[1], eu[0]])
                h = rng.uniform(1.5, 4.5)
                self.add_box(c, eu, su, sv, (top - 0.5, top + h), PrimKind.ROOFTOP, b)

    def add_tree(self, xy: np.ndarray, radius: float) -> None:
        """A tree: box trunk under an ellipsoid canopy."""
        rng = self.rng
        t = len(self.canopy_colors)
        z0 = float(self.terrain.height(np.array(xy[0]), np.array(xy[1])))
        trunk_h = rng.uniform(2.6, 4.5)
        half = rng.uniform(0.15, 0.3)
        rz = radius * rng.uniform(0.8, 1.4)
        center = np.array([xy[0], xy[1], z0 + trunk_h + 0.7 * rz])
        eu = np.array([1.0, 0.0])
        self.add_box(xy, eu, half, half, (z0 - 0.5, center[2]), PrimKind.TRUNK, t)
        self.ell.append((center, np.array([radius, radius, rz]), t))
        palette = _AUTUMN if rng.random() < self.autumn else _CANOPIES
        color = palette[rng.integers(len(palette))] * rng.uniform(0.85, 1.15)
        self.canopy_colors.append(np.clip(color, 0, 1))

    def free(self, xy: np.ndarray, radius: float) -> bool:
        """Whether a disc is clear of every building footprint placed so far."""
        if not self.footprints:
            return True
        f = np.array(self.footprints)
        return bool(np.all(np.hypot(f[:, 0] - xy[0], f[:, 1] - xy[1]) > f[:, 2] + radius))


def _unit3(n: np.ndarray, d: float) -> tuple[float, float, float, float]:
    """Normalise a half-space ``n . x <= d``."""
    s = float(np.linalg.norm(n))
    return (n[0] / s, n[1] / s, n[2] / s, d / s)


def _box_planes(center, eu, hu, hv, z0, z1) -> list[tuple[float, float, float, float]]:
    """Six half-spaces of an oriented box (footprint axes ``eu``, ``ev``, z from z0 to z1)."""
    eu3 = np.array([eu[0], eu[1], 0.0])
    ev3 = np.array([-eu[1], eu[0], 0.0])
    c = np.array([center[0], center[1], 0.0])
    planes = []
    for axis, half in ((eu3, hu), (ev3, hv)):
        planes.append(_unit3(axis, float(axis @ c) + half))
        planes.append(_unit3(-axis, float(-axis @ c) + half))
    planes.append((0.0, 0.0, 1.0, float(z1)))
    planes.append((0.0, 0.0, -1.0, float(-z0)))
    return planes


def _box_bounds(center, eu, hu, hv, z0, z1) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds of an oriented box."""
    ext = np.abs(eu[0]) * hu + np.abs(eu[1]) * hv, np.abs(eu[1]) * hu + np.abs(eu[0]) * hv
    lo = np.array([center[0] - ext[0], center[1] - ext[1], z0])
    hi = np.array([center[0] + ext[0], center[1] + ext[1], z1])
    return lo, hi


def _gable_planes(center, eu, hu, hv, z0, rise) -> list[tuple[float, float, float, float]]:
    """Gable roof: ridge along ``eu`` at ``z0 + rise``, eaves at ``z0``, vertical gable ends."""
    eu3 = np.array([eu[0], eu[1], 0.0])
    ev3 = np.array([-eu[1], eu[0], 0.0])
    c = np.array([center[0], center[1], 0.0])
    k = rise / hv
    ez = np.array([0.0, 0.0, 1.0])
    return [
        (0.0, 0.0, -1.0, float(-z0)),
        _unit3(eu3, float(eu3 @ c) + hu),
        _unit3(-eu3, float(-eu3 @ c) + hu),
        _unit3(k * ev3 + ez, z0 + rise + k * float(ev3 @ c)),
        _unit3(-k * ev3 + ez, z0 + rise - k * float(ev3 @ c)),
    ]


def _hip_planes(center, eu, hu, hv, z0, rise) -> list[tuple[float, float, float, float]]:
    """Hip roof: four slopes of equal pitch (ridge along ``eu``, requires ``hu >= hv``)."""
    eu3 = np.array([eu[0], eu[1], 0.0])
    ev3 = np.array([-eu[1], eu[0], 0.0])
    c = np.array([center[0], center[1], 0.0])
    k = rise / hv
    ez = np.array([0.0, 0.0, 1.0])
    return [
        (0.0, 0.0, -1.0, float(-z0)),
        _unit3(k * ev3 + ez, z0 + rise + k * float(ev3 @ c)),
        _unit3(-k * ev3 + ez, z0 + rise - k * float(ev3 @ c)),
        _unit3(k * eu3 + ez, z0 + rise + k * (float(eu3 @ c) + hu - hv)),
        _unit3(-k * eu3 + ez, z0 + rise + k * (float(-eu3 @ c) + hu - hv)),
    ]


def _make_terrain(rng: np.random.Generator) -> Terrain:
    """Gentle relief: four long-wavelength waves with a slope bound of at most ~4%."""
    count = 4
    wavelengths = rng.uniform(900.0, 3000.0, count)
    directions = rng.uniform(0, 2 * np.pi, count)
    wave_vectors = (2 * np.pi / wavelengths)[:, None] * np.stack(
        [np.cos(directions), np.sin(directions)], axis=1
    )
    amplitudes = rng.uniform(0.5, 1.0, count) * wavelengths / 300.0
    slope = np.sum(amplitudes * 2 * np.pi / wavelengths)
    amplitudes *= min(1.0, rng.uniform(0.015, 0.04) / slope)
    return Terrain(amplitudes, wave_vectors, rng.uniform(0, 2 * np.pi, count))


def _make_lighting(rng: np.random.Generator) -> Lighting:
    """Sun elevation 20-70 deg, warm low sun, clear to hazy to overcast skies."""
    overcast = rng.random() < 0.15
    elevation = np.radians(rng.uniform(20.0, 70.0))
    azimuth = rng.uniform(0, 2 * np.pi)
    sun_dir = np.array(
        [
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ]
    )
    warm = float(np.clip((np.degrees(elevation) - 35.0) / -15.0, 0.0, 1.0))
    haze = rng.uniform(0.0, 1.0)
    sun_color = np.array([1.0, 1.0 - 0.12 * warm, 1.0 - 0.3 * warm])
    zenith = (1 - haze) * np.array([0.24, 0.44, 0.80]) + haze * np.array([0.55, 0.63, 0.75])
    horizon = np.array([0.78, 0.83, 0.9]) * (1 - 0.3 * warm) + np.array([0.3, 0.2, 0.05]) * warm
    if overcast:
        zenith = horizon = np.array([0.72, 0.73, 0.76]) * rng.uniform(0.85, 1.05)
        sun_strength, ambient_strength, haze_distance = 0.25, 0.85, rng.uniform(3000.0, 7000.0)
    else:
        sun_strength = rng.uniform(0.75, 0.95) * (1 - 0.25 * haze)
        ambient_strength = rng.uniform(0.32, 0.45) + 0.15 * haze
        haze_distance = rng.uniform(7000.0, 20000.0) * (1 - 0.5 * haze)
    ambient = (
        ambient_strength * (0.6 * zenith + 0.4 * horizon) / np.mean(0.6 * zenith + 0.4 * horizon)
    )
    return Lighting(
        sun_direction=sun_dir,
        sun_color=sun_color * sun_strength,
        ambient_color=ambient,
        sky_zenith=np.clip(zenith, 0, 1),
        sky_horizon=np.clip(horizon, 0, 1),
        haze_distance=float(haze_distance),
    )


def _street_lines(rng: np.random.Generator, half: float) -> tuple[np.ndarray, np.ndarray]:
    """Street centre positions along one grid axis and their widths (main street widest)."""
    positions, widths = [], []
    pos = -half + rng.uniform(0, 30)
    while pos < half:
        positions.append(pos)
        widths.append(rng.uniform(10.0, 14.0))
        pos += rng.uniform(65.0, 115.0)
    positions = np.array(positions)
    widths = np.array(widths)
    widths[np.argmin(np.abs(positions))] = rng.uniform(18.0, 24.0)
    return positions, widths


def generate_scene(seed: int, name: str) -> ProceduralScene:
    """Generate the site of one scene deterministically from ``seed``."""
    rng = np.random.default_rng(seed)
    georef = GeoReference(
        latitude=float(rng.uniform(-50.0, 60.0)),
        longitude=float(rng.uniform(-180.0, 180.0)),
        altitude=float(rng.uniform(0.0, 1500.0)),
    )
    terrain = _make_terrain(rng)
    lighting = _make_lighting(rng)
    core = float(rng.uniform(200.0, 300.0))
    outer = float(rng.uniform(800.0, 1000.0))
    angle = float(rng.uniform(0.0, np.pi / 2))
    builder = _Builder(rng, terrain, autumn=float(rng.random() < 0.2) * rng.uniform(0.3, 0.8))
    eu = np.array([np.cos(angle), np.sin(angle)])
    ev = np.array([-eu[1], eu[0]])

    def world(u: float, v: float) -> np.ndarray:
        return u * eu + v * ev

    us, wu = _street_lines(rng, core)
    vs, wv = _street_lines(rng, core)
    sidewalk = rng.uniform(2.5, 4.0)
    ext_u = (us.min() - 40.0, us.max() + 40.0)
    ext_v = (vs.min() - 40.0, vs.max() + 40.0)
    segments, widths = [], []
    for u, w in zip(us, wu, strict=True):
        segments.append([world(u, ext_v[0]), world(u, ext_v[1])])
        widths.append(w)
    for v, w in zip(vs, wv, strict=True):
        segments.append([world(ext_u[0], v), world(ext_u[1], v)])
        widths.append(w)
    core_roads = len(segments)
    main_u, main_v = int(np.argmax(wu)), int(np.argmax(wv))
    arterials = [
        (world(us[main_u], ext_v[1]), world(us[main_u], 2 * outer), wu[main_u]),
        (world(us[main_u], ext_v[0]), world(us[main_u], -2 * outer), wu[main_u]),
        (world(ext_u[1], vs[main_v]), world(2 * outer, vs[main_v]), wv[main_v]),
        (world(ext_u[0], vs[main_v]), world(-2 * outer, vs[main_v]), wv[main_v]),
    ]
    for a, b, w in arterials:
        segments.append([a, b])
        widths.append(w)
    road_segments = np.array(segments)
    road_widths = np.array(widths)

    blocks, uses = [], []
    for i in range(len(us) - 1):
        for j in range(len(vs) - 1):
            u0 = us[i] + wu[i] / 2 + sidewalk
            u1 = us[i + 1] - wu[i + 1] / 2 - sidewalk
            v0 = vs[j] + wv[j] / 2 + sidewalk
            v1 = vs[j + 1] - wv[j + 1] / 2 - sidewalk
            r = max(abs(u0 + u1), abs(v0 + v1)) / (2 * core)
            p = rng.random()
            if r < 0.5:
                use = (
                    LandUse.DOWNTOWN if p < 0.82 else (LandUse.PLAZA if p < 0.92 else LandUse.PARK)
                )
            else:
                use = (
                    LandUse.RESIDENTIAL
                    if p < 0.75
                    else (LandUse.PARK if p < 0.9 else LandUse.PLAZA)
                )
            blocks.append([u0, u1, v0, v1])
            uses.append(int(use))
            _fill_block(builder, world, angle, (u0, u1, v0, v1), use, r)

    for (a, b), w in zip(road_segments[:core_roads], road_widths[:core_roads], strict=True):
        if rng.random() < 0.55:
            _street_trees(builder, a, b, w / 2 + sidewalk / 2, us, vs, wu, wv, world)
    for a, b, w in arterials:
        _outskirt_houses(builder, a, b, w, outer)
    for _ in range(rng.integers(4, 8)):
        _forest(builder, core, outer, road_segments, road_widths + 2 * sidewalk)

    planes = np.array(builder.planes)
    buildings = builder.buildings
    ell_c = np.array([e[0] for e in builder.ell])
    ell_r = np.array([e[1] for e in builder.ell])
    return ProceduralScene(
        name=name,
        seed=int(seed),
        georef=georef,
        core_half_size=core,
        outer_radius=outer,
        terrain=terrain,
        lighting=lighting,
        grid_angle=angle,
        core_extent=np.array([*ext_u, *ext_v]),
        road_segments=road_segments,
        road_widths=road_widths,
        sidewalk_widths=np.full(len(road_widths), sidewalk),
        core_road_count=core_roads,
        blocks=np.array(blocks).reshape(-1, 4),
        block_use=np.array(uses, dtype=np.int64),
        field_angle=float(rng.uniform(0, np.pi)),
        field_size=float(rng.uniform(70.0, 140.0)),
        poly_planes=planes,
        poly_bounds=np.array(builder.bounds),
        poly_kind=np.array(builder.kind, dtype=np.int64),
        poly_owner=np.array(builder.owner, dtype=np.int64),
        ell_center=ell_c,
        ell_radii=ell_r,
        ell_owner=np.array([e[2] for e in builder.ell], dtype=np.int64),
        facade_color=np.array([b["facade"] for b in buildings]),
        window_color=np.array([b["window"] for b in buildings]),
        roof_color=np.array([b["roof"] for b in buildings]),
        floor_height=np.array([b["floor"] for b in buildings]),
        window_spacing=np.array([b["spacing"] for b in buildings]),
        window_size=np.array([b["size"] for b in buildings]),
        canopy_color=np.array(builder.canopy_colors),
    )


def _fill_block(builder: _Builder, world, angle: float, rect, use: LandUse, r: float) -> None:
    """Buildings and trees of one block; lots run in two rows along the long side."""
    rng = builder.rng
    u0, u1, v0, v1 = rect
    if use in (LandUse.PARK, LandUse.PLAZA):
        count = int((u1 - u0) * (v1 - v0) / (140.0 if use == LandUse.PARK else 600.0))
        for _ in range(count):
            xy = world(rng.uniform(u0 + 3, u1 - 3), rng.uniform(v0 + 3, v1 - 3))
            builder.add_tree(xy, rng.uniform(2.0, 4.5))
        return
    long_u = (u1 - u0) >= (v1 - v0)
    a0, a1, b0, b1 = (u0, u1, v0, v1) if long_u else (v0, v1, u0, u1)
    rows = [(b0, (b0 + b1) / 2, -1), ((b0 + b1) / 2, b1, 1)] if b1 - b0 > 36 else [(b0, b1, 1)]
    downtown = use == LandUse.DOWNTOWN
    for c0, c1, facing in rows:
        a = a0
        while a1 - a > 8.0:
            width = min(rng.uniform(16.0, 38.0) if downtown else rng.uniform(14.0, 24.0), a1 - a)
            gap = rng.uniform(0.0, 2.0) if downtown else rng.uniform(2.0, 5.0)
            setback = rng.uniform(0.0, 2.5) if downtown else rng.uniform(3.0, 7.0)
            depth = (c1 - c0) - setback - (rng.uniform(0, 4) if downtown else rng.uniform(4, 12))
            depth = max(depth, 8.0)
            if rng.random() < (0.92 if downtown else 0.85):
                la = a + width / 2
                front = c1 - setback if facing > 0 else c0 + setback
                lb = front - facing * depth / 2
                hu, hv = max(width / 2 - gap / 2, 3.0), depth / 2
                if downtown:
                    height = float(np.clip(rng.lognormal(np.log(30.0 * (1.4 - r)), 0.45), 10, 130))
                else:
                    height = rng.uniform(3.5, 9.5)
                center = world(la, lb) if long_u else world(lb, la)
                hu_w, hv_w = (hu, hv) if long_u else (hv, hu)
                builder.add_building(center, angle, hu_w, hv_w, height, downtown)
            a += width
    if not downtown:
        for _ in range(int((u1 - u0) * (v1 - v0) / 400.0)):
            xy = world(rng.uniform(u0 + 2, u1 - 2), rng.uniform(v0 + 2, v1 - 2))
            radius = rng.uniform(2.0, 4.0)
            if builder.free(xy, radius):
                builder.add_tree(xy, radius)


def _street_trees(builder, a, b, offset, us, vs, wu, wv, world) -> None:
    """Trees on both sidewalks of a street, skipping intersections."""
    rng = builder.rng
    length = float(np.linalg.norm(b - a))
    direction = (b - a) / length
    normal = np.array([-direction[1], direction[0]])
    spacing = rng.uniform(9.0, 15.0)
    crossings = [world(u, v) for u in us for v in vs]
    clear = max(np.max(wu), np.max(wv)) / 2 + 6.0
    for s in np.arange(spacing / 2, length, spacing):
        for side in (-1.0, 1.0):
            xy = a + s * direction + side * offset * normal
            if min(np.linalg.norm(xy - c) for c in crossings) > clear:
                builder.add_tree(xy, rng.uniform(2.0, 3.2))


def _outskirt_houses(builder: _Builder, a, b, width: float, outer: float) -> None:
    """Scattered houses with gardens along an arterial road out to ``outer`` metres."""
    rng = builder.rng
    direction = (b - a) / np.linalg.norm(b - a)
    normal = np.array([-direction[1], direction[0]])
    angle = float(np.arctan2(direction[1], direction[0]))
    s = rng.uniform(10.0, 40.0)
    while np.linalg.norm(a + s * direction) < outer:
        for side in (-1.0, 1.0):
            if rng.random() < 0.45:
                hu, hv = rng.uniform(5.0, 9.0), rng.uniform(4.0, 6.5)
                center = (
                    a + s * direction + side * (width / 2 + rng.uniform(8.0, 14.0) + hv) * normal
                )
                builder.add_building(center, angle, hu, hv, rng.uniform(3.5, 7.0), downtown=False)
                for _ in range(rng.integers(0, 3)):
                    xy = center + side * rng.uniform(hv + 4, hv + 14) * normal
                    xy = xy + rng.uniform(-8, 8) * direction
                    builder.add_tree(xy, rng.uniform(2.0, 4.0))
        s += rng.uniform(25.0, 60.0)


def _forest(builder: _Builder, core: float, outer: float, segments, clearances) -> None:
    """A cluster of trees in the outskirts, kept off the roads and houses."""
    rng = builder.rng
    radius = rng.uniform(core + 80.0, outer)
    phi = rng.uniform(0, 2 * np.pi)
    center = radius * np.array([np.cos(phi), np.sin(phi)])
    spread = rng.uniform(25.0, 60.0)
    for _ in range(rng.integers(10, 30)):
        xy = center + rng.normal(0.0, spread, 2)
        crown = rng.uniform(2.5, 5.0)
        if _distance_to_segments(xy, segments).min() > np.max(
            clearances
        ) / 2 + crown and builder.free(xy, crown):
            builder.add_tree(xy, crown)


def _distance_to_segments(xy: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Distance from a point to each segment (S, 2, 2)."""
    a, b = segments[:, 0], segments[:, 1]
    ab = b - a
    s = np.clip(np.sum((xy - a) * ab, axis=1) / np.sum(ab * ab, axis=1), 0.0, 1.0)
    return np.linalg.norm(a + s[:, None] * ab - xy, axis=1)
