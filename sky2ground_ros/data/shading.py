"""Procedural materials and lighting of the synthetic scenes (torch, evaluated per hit).

Every texture is a function of the world position of the hit (plus the primitive it belongs
to), never of the view, so a surface point has the same albedo in ground, aerial and
satellite images and photometric reprojection checks are meaningful. High-frequency detail
(windows, roof tiles, lane markings, paving joints, noise octaves) is faded to its mean
colour once a pixel covers more than about a quarter of its period, which is a cheap
stand-in for texture filtering that keeps satellite views from aliasing.

Lighting: Lambertian sun with exact cast shadows (visibility comes from the ray caster),
sky ambient, optional distance haze, and a two-colour sky with a sun glow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sky2ground_ros.data.procedural_scene import LandUse, PrimKind, ProceduralScene

_ASPHALT = (0.24, 0.24, 0.25)
_MARKING = (0.86, 0.86, 0.80)
_SIDEWALK = (0.66, 0.64, 0.60)
_PAVED = (0.57, 0.56, 0.54)
_PLAZA = (0.72, 0.69, 0.63)
_GRASS = (0.33, 0.50, 0.22)
_LAWN = (0.38, 0.53, 0.26)
_PATH = (0.62, 0.55, 0.43)
_TRUNK = (0.33, 0.24, 0.17)
_ROOFTOP = (0.70, 0.70, 0.69)
_FIELDS = ((0.33, 0.50, 0.20), (0.70, 0.64, 0.36), (0.48, 0.38, 0.27), (0.50, 0.60, 0.30))


@dataclass(frozen=True)
class Materials:
    """Tensors of one scene needed to shade hits."""

    seed: int
    sun_direction: torch.Tensor
    sun_color: torch.Tensor
    ambient: torch.Tensor
    zenith: torch.Tensor
    horizon: torch.Tensor
    haze_distance: float
    num_poly: int
    poly_kind: torch.Tensor
    poly_owner: torch.Tensor
    poly_base: torch.Tensor
    ell_owner: torch.Tensor
    facade: torch.Tensor
    window: torch.Tensor
    roof: torch.Tensor
    floor_height: torch.Tensor
    window_spacing: torch.Tensor
    window_size: torch.Tensor
    canopy: torch.Tensor
    road_a: torch.Tensor
    road_b: torch.Tensor
    road_half_width: torch.Tensor
    sidewalk: torch.Tensor
    grid_axes: torch.Tensor
    core_extent: torch.Tensor
    blocks: torch.Tensor
    block_use: torch.Tensor
    field_axes: torch.Tensor
    field_size: float

    @classmethod
    def from_scene(cls, scene: ProceduralScene) -> Materials:
        """Convert the scene's material arrays to float32 / int64 tensors."""

        def f(x) -> torch.Tensor:
            return torch.as_tensor(np.asarray(x), dtype=torch.float32)

        def axes(angle: float) -> torch.Tensor:
            return f([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])

        light = scene.lighting
        return cls(
            seed=scene.texture_seed,
            sun_direction=f(light.sun_direction),
            sun_color=f(light.sun_color),
            ambient=f(light.ambient_color),
            zenith=f(light.sky_zenith),
            horizon=f(light.sky_horizon),
            haze_distance=float(light.haze_distance),
            num_poly=int(scene.poly_planes.shape[0]),
            poly_kind=torch.as_tensor(scene.poly_kind),
            poly_owner=torch.as_tensor(scene.poly_owner),
            poly_base=f(scene.poly_bounds[:, 0, 2]),
            ell_owner=torch.as_tensor(scene.ell_owner),
            facade=f(scene.facade_color),
            window=f(scene.window_color),
            roof=f(scene.roof_color),
            floor_height=f(scene.floor_height),
            window_spacing=f(scene.window_spacing),
            window_size=f(scene.window_size),
            canopy=f(scene.canopy_color),
            road_a=f(scene.road_segments[:, 0]),
            road_b=f(scene.road_segments[:, 1]),
            road_half_width=f(scene.road_widths / 2),
            sidewalk=f(scene.sidewalk_widths),
            grid_axes=axes(scene.grid_angle),
            core_extent=f(scene.core_extent),
            blocks=f(scene.blocks),
            block_use=torch.as_tensor(scene.block_use),
            field_axes=axes(scene.field_angle),
            field_size=scene.field_size,
        )


def hash01(ix: torch.Tensor, iy: torch.Tensor, seed: int) -> torch.Tensor:
    """Deterministic pseudo-random value in [0, 1) per integer lattice point."""
    h = (ix * 374761393 + iy * 668265263 + seed * 2246822519) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 1274126177) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    return h.float() / 4294967296.0


def value_noise(x: torch.Tensor, y: torch.Tensor, cell: float, seed: int) -> torch.Tensor:
    """Smooth 2D value noise in [0, 1) with features of size ``cell`` metres."""
    fx, fy = x / cell, y / cell
    x0, y0 = torch.floor(fx), torch.floor(fy)
    sx, sy = fx - x0, fy - y0
    sx = sx * sx * (3 - 2 * sx)
    sy = sy * sy * (3 - 2 * sy)
    ix, iy = x0.long(), y0.long()
    a = hash01(ix, iy, seed)
    b = hash01(ix + 1, iy, seed)
    c = hash01(ix, iy + 1, seed)
    d = hash01(ix + 1, iy + 1, seed)
    return (a + (b - a) * sx) + ((c + (d - c) * sx) - (a + (b - a) * sx)) * sy


def detail(footprint: torch.Tensor, period: float | torch.Tensor) -> torch.Tensor:
    """1 where a pattern of this period is resolved, fading to 0 at 2 pixels per period."""
    return torch.clamp(2.0 - 4.0 * footprint / period, 0.0, 1.0)


def fbm(x, y, footprint, cells: tuple[float, ...], seed: int) -> torch.Tensor:
    """Sum of noise octaves centred on 0 (range about +-0.5), each faded by footprint."""
    total = torch.zeros_like(x)
    for i, cell in enumerate(cells):
        total = total + (value_noise(x, y, cell, seed + 7919 * i) - 0.5) * detail(footprint, cell)
    return total / max(len(cells), 1) * 1.6


def _rgb(c) -> torch.Tensor:
    return torch.tensor(c, dtype=torch.float32)


def shade_surfaces(
    m: Materials,
    pos: torch.Tensor,
    normal: torch.Tensor,
    prim: torch.Tensor,
    footprint: torch.Tensor,
    sun_visible: torch.Tensor,
) -> torch.Tensor:
    """Lit colour (Q, 3) of hit points on primitives (``prim >= 0``) or terrain (-1)."""
    albedo = torch.zeros_like(pos)
    ter = torch.nonzero(prim < 0).squeeze(1)
    albedo[ter] = _terrain_albedo(m, pos[ter], footprint[ter])
    poly = torch.nonzero((prim >= 0) & (prim < m.num_poly)).squeeze(1)
    albedo[poly] = _poly_albedo(m, pos[poly], normal[poly], prim[poly], footprint[poly])
    ell = torch.nonzero(prim >= m.num_poly).squeeze(1)
    albedo[ell] = _canopy_albedo(m, pos[ell], normal[ell], prim[ell] - m.num_poly, footprint[ell])
    lambert = torch.clamp(normal @ m.sun_direction, min=0.0) * sun_visible
    sky_light = 0.75 + 0.25 * normal[:, 2].clamp(-1, 1)
    light = m.ambient[None] * sky_light[:, None] + m.sun_color[None] * lambert[:, None]
    return albedo * light


def sky_color(m: Materials, directions: torch.Tensor) -> torch.Tensor:
    """Sky (and far haze) colour seen along each ray direction."""
    d = directions / torch.linalg.norm(directions, dim=1, keepdim=True)
    up = d[:, 2].clamp(0, 1) ** 0.6
    sky = m.horizon[None] + up[:, None] * (m.zenith - m.horizon)[None]
    glow = torch.clamp(d @ m.sun_direction, min=0.0) ** 64
    return sky + 0.35 * glow[:, None] * m.sun_color[None]


def _poly_albedo(m, pos, normal, prim, footprint) -> torch.Tensor:
    """Facades with windows, flat / pitched roofs, roof-top structures and trunks."""
    kind = m.poly_kind[prim]
    owner = m.poly_owner[prim]
    out = torch.zeros_like(pos)
    nz = normal[:, 2]
    building = (kind == PrimKind.BODY) | (kind == PrimKind.ROOF) | (kind == PrimKind.ROOFTOP)
    b = torch.where(building, owner, torch.zeros_like(owner))
    noise = fbm(pos[:, 0] + pos[:, 2], pos[:, 1] - pos[:, 2], footprint, (6.0, 1.5), m.seed + 11)
    wall = torch.nonzero((kind == PrimKind.BODY) & (nz.abs() < 0.5)).squeeze(1)
    out[wall] = _facade(m, pos[wall], normal[wall], b[wall], prim[wall], footprint[wall])
    flat = torch.nonzero((kind == PrimKind.BODY) & (nz >= 0.5)).squeeze(1)
    grid = _grid_lines(pos[flat, 0], pos[flat, 1], 4.0, 0.15, footprint[flat])
    out[flat] = m.roof[b[flat]] * (1.0 + 0.25 * noise[flat, None] - 0.12 * grid[:, None])
    slope = torch.nonzero((kind == PrimKind.ROOF) & (nz > 0.05)).squeeze(1)
    if slope.numel():
        dn = normal[slope, :2] / torch.linalg.norm(normal[slope, :2], dim=1, keepdim=True)
        w = (pos[slope, :2] * dn).sum(dim=1)
        rows = torch.cos(w * (2 * np.pi / 0.35)) * detail(footprint[slope], 0.35)
        out[slope] = m.roof[b[slope]] * (1.0 + 0.12 * rows[:, None] + 0.2 * noise[slope, None])
    gable = torch.nonzero((kind == PrimKind.ROOF) & (nz <= 0.05)).squeeze(1)
    shade = torch.where(normal[gable, 2] < -0.5, 0.6, 1.0)
    out[gable] = m.facade[b[gable]] * shade[:, None]
    under = torch.nonzero((kind == PrimKind.BODY) & (nz <= -0.5)).squeeze(1)
    out[under] = m.facade[b[under]] * 0.6
    top = torch.nonzero(kind == PrimKind.ROOFTOP).squeeze(1)
    out[top] = _rgb(_ROOFTOP) * (1.0 + 0.2 * noise[top, None])
    trunk = torch.nonzero(kind == PrimKind.TRUNK).squeeze(1)
    out[trunk] = _rgb(_TRUNK) * (1.0 + 0.3 * noise[trunk, None])
    return out


def _facade(m, pos, normal, b, prim, footprint) -> torch.Tensor:
    """Facade colour with a grid of windows (floors x bays), faded to its mean far away."""
    tangent = torch.stack([-normal[:, 1], normal[:, 0]], dim=1)
    tangent = tangent / torch.linalg.norm(tangent, dim=1, keepdim=True).clamp(min=1e-6)
    s = (pos[:, :2] * tangent).sum(dim=1)
    z = pos[:, 2] - (m.poly_base[prim] + 1.0)
    floor = m.floor_height[b]
    spacing = m.window_spacing[b]
    size = m.window_size[b]
    col = torch.remainder(s, spacing) / spacing
    row = torch.remainder(z, floor) / floor
    inside = ((col - 0.5).abs() < size[:, 0] / 2) & ((row - 0.55).abs() < size[:, 1] / 2)
    inside &= z > 0.9 * floor
    cell_x = torch.floor(s / spacing).long()
    cell_y = torch.floor(z / floor).long()
    pane = 0.75 + 0.6 * hash01(cell_x + 131 * b, cell_y, m.seed + 3)
    facade = m.facade[b]
    window = m.window[b] * pane[:, None]
    frac = (size[:, 0] * size[:, 1])[:, None]
    mean = facade * (1 - frac) + m.window[b] * 1.05 * frac
    pattern = torch.where(inside[:, None], window, facade)
    k = detail(footprint, torch.minimum(spacing, floor))[:, None]
    grime = 1.0 - 0.12 * value_noise(s, z, 5.0, m.seed + 5)[:, None]
    return (mean + k * (pattern - mean)) * grime


def _grid_lines(x, y, period: float, width: float, footprint) -> torch.Tensor:
    """1 on thin lines of a square grid, faded with distance (paving joints, roof panels)."""
    gx = (torch.remainder(x, period) < width) | (torch.remainder(y, period) < width)
    return gx.float() * detail(footprint, period / 4)


def _canopy_albedo(m, pos, normal, tree, footprint) -> torch.Tensor:
    """Leafy canopies: per-tree colour modulated by clumpy noise, darker underneath."""
    x = pos[:, 0] + 0.7 * pos[:, 2]
    y = pos[:, 1] - 0.5 * pos[:, 2]
    leaves = fbm(x, y, footprint, (2.0, 0.6), m.seed + 17)
    under = 0.8 + 0.2 * normal[:, 2].clamp(-1, 1)
    return m.canopy[m.ell_owner[tree]] * (1.0 + 0.6 * leaves[:, None]) * under[:, None]


def _terrain_albedo(m, pos, footprint) -> torch.Tensor:
    """Fields outside the town, blocks (paved / lawn / park / plaza), sidewalks and roads."""
    xy = pos[:, :2]
    q = xy.shape[0]
    uv = xy @ m.grid_axes.T
    out = _fields(m, xy, footprint)
    e = m.core_extent
    urban = (uv[:, 0] > e[0]) & (uv[:, 0] < e[1]) & (uv[:, 1] > e[2]) & (uv[:, 1] < e[3])
    lawn_noise = fbm(xy[:, 0], xy[:, 1], footprint, (9.0, 2.0), m.seed + 23)
    out[urban] = _rgb(_LAWN) * (1.0 + 0.35 * lawn_noise[urban, None])
    if m.blocks.shape[0]:
        blk = m.blocks
        inside = (
            (uv[:, None, 0] >= blk[None, :, 0])
            & (uv[:, None, 0] <= blk[None, :, 1])
            & (uv[:, None, 1] >= blk[None, :, 2])
            & (uv[:, None, 1] <= blk[None, :, 3])
        )
        has = inside.any(dim=1)
        use = torch.where(has, m.block_use[inside.int().argmax(dim=1)], -1)
        joints = _grid_lines(uv[:, 0], uv[:, 1], 3.0, 0.12, footprint)
        pav = use == LandUse.DOWNTOWN
        out[pav] = _rgb(_PAVED) * (1.0 + 0.25 * lawn_noise[pav, None] - 0.1 * joints[pav, None])
        plz = use == LandUse.PLAZA
        out[plz] = _rgb(_PLAZA) * (1.0 + 0.15 * lawn_noise[plz, None] - 0.15 * joints[plz, None])
        park = use == LandUse.PARK
        path = (torch.remainder(uv[:, 0] + uv[:, 1], 45.0) < 2.5) | (
            torch.remainder(uv[:, 0] - uv[:, 1], 60.0) < 2.5
        )
        grass = _rgb(_GRASS) * (1.0 + 0.45 * lawn_noise[:, None])
        out[park] = torch.where(path[park, None], _rgb(_PATH), grass[park])
    dist, lateral, along, seg = _nearest_road(m, xy)
    half = m.road_half_width[seg]
    side = (dist >= half) & (dist < half + m.sidewalk[seg])
    joints = _grid_lines(along, lateral, 1.5, 0.06, footprint)
    out[side] = _rgb(_SIDEWALK) * (1.0 - 0.15 * joints[side, None] + 0.1 * lawn_noise[side, None])
    road = dist < half
    asphalt = (
        _rgb(_ASPHALT)
        * (1.0 + 0.3 * fbm(xy[:, 0], xy[:, 1], footprint, (3.0, 0.7), m.seed))[:, None]
    )
    centre = (lateral.abs() < 0.12) & (torch.remainder(along, 9.0) < 4.5)
    edge = ((lateral.abs() - (half - 0.8)).abs() < 0.1) & (half > 6.0)
    marks = (centre | edge).float() * detail(footprint, 0.5)
    paint = asphalt + marks[:, None] * (_rgb(_MARKING) - asphalt)
    out[road] = paint[road]
    return out.reshape(q, 3)


def _fields(m, xy, footprint) -> torch.Tensor:
    """Patchwork of crop fields with furrows on a rotated grid."""
    fv = xy @ m.field_axes.T
    ix = torch.floor(fv[:, 0] / m.field_size).long()
    iy = torch.floor(fv[:, 1] / (0.7 * m.field_size)).long()
    crop = torch.floor(hash01(ix, iy, m.seed + 29) * len(_FIELDS)).long()
    colors = torch.tensor(_FIELDS, dtype=torch.float32)[crop]
    shade = 0.85 + 0.3 * hash01(ix, iy, m.seed + 31)
    furrow = torch.cos(fv[:, 0] * (2 * np.pi / 1.5)) * detail(footprint, 1.5)
    noise = fbm(xy[:, 0], xy[:, 1], footprint, (40.0, 8.0), m.seed + 37)
    return colors * (shade + 0.08 * furrow + 0.4 * noise)[:, None]


def _nearest_road(m, xy):
    """Distance, signed lateral offset, along-road coordinate and index of the nearest road."""
    a, b = m.road_a, m.road_b
    ab = b - a
    length = torch.linalg.norm(ab, dim=1)
    direction = ab / length[:, None]
    rel = xy[:, None, :] - a[None]
    along = (rel * direction[None]).sum(dim=2)
    lateral = rel[..., 0] * direction[None, :, 1] - rel[..., 1] * direction[None, :, 0]
    clamped = along.clamp(min=torch.zeros_like(length), max=length)
    dist = torch.sqrt(lateral**2 + (along - clamped) ** 2)
    excess = dist - m.road_half_width[None]
    seg = torch.argmin(excess, dim=1)
    rows = torch.arange(xy.shape[0])
    return dist[rows, seg], lateral[rows, seg], along[rows, seg], seg
