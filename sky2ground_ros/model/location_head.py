"""Location head: where on the satellite crops each ground/aerial camera stands, and its heading.

Geometry does the geometry; the network only learns descriptors that look alike from above
and from the side (as HC-Net / Boosting3DoF do with a ground-plane projection):

1. Per-pixel descriptors of every frame from the shared DPT head's fused features plus a small
   stem on the pixels, with separate weights for camera frames and satellite crops. Satellite
   features come from the satellite tokens, which under MSA have attended to the cameras.
2. The crops' descriptors are resampled onto one north-up *canvas* (the crop plan's layout).
3. For every camera and each of ``headings`` candidate headings, a bird's-eye template: canvas
   cells around the camera's ground footprint are projected into the camera through the
   ground plane (known intrinsics, gravity and height above ground) and its descriptors sampled.
4. Each template is correlated with the canvas (FFT; mean cosine over the overlapping cells),
   shifted from footprint to nadir, and scaled by a learned temperature: the logits of where
   the camera's nadir lies, over heading x canvas row x canvas column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sky2ground_ros.geo.satellite_crops import CropPlan
from sky2ground_ros.model.configs import SkyNetConfig
from sky2ground_ros.views import ViewType

INVALID_LOGIT = -1.0e4
"""Logit of a (heading, position) whose template does not overlap the canvas enough."""
MIN_OVERLAP = 0.5
"""Fraction of a template's cells that must fall on the canvas for its score to count."""
MIN_TEMPLATE_CELLS = 8
"""A camera seeing fewer ground cells than this (e.g. only sky) gets no location map."""
MIN_DEPTH_M = 0.5
FOOTPRINT_RAYS = 12
"""Rays per image side used to find the camera's ground footprint."""
LIFTS = ("depth", "ground")
"""How camera pixels reach the bird's-eye view: predicted depth, or the ground plane."""
NEAR_GROUND = 0.3
"""Depth lift: the nearest fraction of the ground-plane pixels, where the plane holds (a
drive's road, a flight's whole view), sets the depth's metric scale."""
SPLAT_MIN_WEIGHT = 0.05
"""Depth lift: a template cell needs this much splatted weight to count."""


@dataclass(frozen=True)
class LocationGeometry:
    """What the head needs to know besides the pixels (batch-first tensors, float).

    The N camera frames are the window's ground/aerial frames in input order; the satellite
    frames are the crops of one `geo.satellite_crops.CropPlan` (``grid`` x ``grid``, north-west
    corners ``step_px`` apart), in plan order.
    """

    intrinsics: torch.Tensor
    """[B, N, 3, 3] of the camera frames at the model's input size."""
    level_from_camera: torch.Tensor
    """[B, N, 3, 3]: camera axes in a gravity-aligned frame (z up, x the camera's horizontal
    forward), i.e. the camera's roll and pitch; its heading is what the head searches."""
    height_m: torch.Tensor
    """[B, N] height of each camera above the ground plane it projects onto."""
    gsd_m: torch.Tensor
    """[B] metres per crop pixel."""
    grid: int
    step_px: int

    def to(self, device: torch.device) -> LocationGeometry:
        return LocationGeometry(
            self.intrinsics.to(device),
            self.level_from_camera.to(device),
            self.height_m.to(device),
            self.gsd_m.to(device),
            self.grid,
            self.step_px,
        )


@dataclass(frozen=True)
class LocationOutput:
    """Logits [B, N, headings, C, C] over (heading, canvas row, canvas column) per camera.

    Heading k is ``2 pi k / headings`` (radians, ENU, counter-clockwise from East) of the
    camera's level frame x axis; canvas cell (row, col) is centred ``(col + 0.5) * cell_m``
    east of the canvas's west edge and ``(row + 0.5) * cell_m`` south of its north edge.
    """

    logits: torch.Tensor
    valid: torch.Tensor
    """[B, N] bool: the camera saw enough ground to have a map."""
    cell_m: torch.Tensor
    """[B] metres per canvas cell."""


def location_crop_plan(config: SkyNetConfig, view_type: ViewType) -> CropPlan:
    """The crops a location-head model takes for a window of ground or aerial cameras.

    Training and the localizer both ask here, so a model always meets the layout it learned:
    ``grid`` x ``grid`` crops of ``location_image_size`` pixels, the configured overlap
    (rounded so the canvas is a whole number of cells) and the view type's canvas side.
    """
    size, stride = config.location_image_size, config.location_stride
    overlap = round(size * config.location_overlap / stride) * stride
    if config.location_grid > 1 and not 0 < overlap < size:
        raise ValueError(f"overlap {config.location_overlap} leaves no crop step at {size} px")
    side_m = (
        config.location_canvas_aerial_m
        if view_type == ViewType.AERIAL
        else config.location_canvas_ground_m
    )
    canvas_px = size + (config.location_grid - 1) * (size - overlap)
    return CropPlan(config.location_grid, size, overlap, side_m / canvas_px)


class LocationHead(nn.Module):
    """Descriptors for both views, bird's-eye templates and their correlation with the canvas."""

    def __init__(
        self,
        in_channels: int,
        dim: int,
        headings: int,
        template_cells: int,
        stride: int,
        lift: str = "depth",
    ) -> None:
        super().__init__()
        if template_cells % 2 == 0 or headings < 4 or stride < 1:
            raise ValueError("template_cells must be odd, headings >= 4 and stride >= 1")
        if lift not in LIFTS:
            raise ValueError(f"lift must be one of {LIFTS}, not {lift!r}")
        self.lift = lift
        self.headings = headings
        self.template_cells = template_cells
        self.stride = stride
        self.camera_descriptor = Descriptor(in_channels, dim)
        self.satellite_descriptor = Descriptor(in_channels, dim)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(10.0)))

    def forward(
        self,
        features: torch.Tensor,
        images: torch.Tensor,
        num_satellite: int,
        geometry: LocationGeometry,
        depth: torch.Tensor | None = None,
    ) -> LocationOutput:
        """DPT features [B, S, C, h, w] and images [B, S, 3, H, W] (satellite frames last).

        ``depth`` [B, N, H, W]: the model's (scene-normalised) depth of the camera frames,
        which the ``depth`` lift needs.
        """
        batch, frames = images.shape[:2]
        cameras = frames - num_satellite
        if num_satellite != geometry.grid**2:
            raise ValueError(f"{num_satellite} satellite frames for a {geometry.grid}^2 crop plan")
        if tuple(geometry.height_m.shape) != (batch, cameras):
            raise ValueError(f"geometry is for {tuple(geometry.height_m.shape)} cameras")
        size = images.shape[-1]
        camera = self.camera_descriptor(
            features[:, :cameras].flatten(0, 1), images[:, :cameras].flatten(0, 1)
        ).unflatten(0, (batch, cameras))
        satellite = self.satellite_descriptor(
            features[:, cameras:].flatten(0, 1), images[:, cameras:].flatten(0, 1)
        ).unflatten(0, (batch, num_satellite))
        imagery = (images[:, cameras:].amax(dim=2) > 0).to(satellite.dtype)
        canvas, covered = assemble_canvas(
            satellite, imagery, geometry.grid, geometry.step_px, size, self.stride
        )
        cell_m = geometry.gsd_m * self.stride
        logits, valid = [], []
        image_hw = (images.shape[-2], images.shape[-1])
        if self.lift == "depth" and depth is None:
            raise ValueError("the depth lift needs the camera frames' depth")
        for b in range(batch):
            args = (geometry.intrinsics[b], geometry.level_from_camera[b], geometry.height_m[b])
            if self.lift == "depth":
                templates, masks, shifts = lifted_templates(
                    camera[b],
                    depth[b].detach(),
                    *args,
                    image_hw,
                    float(cell_m[b]),
                    self.headings,
                    self.template_cells,
                )
            else:
                templates, masks, shifts = bev_templates(
                    camera[b],
                    *args,
                    image_hw,
                    float(cell_m[b]),
                    self.headings,
                    self.template_cells,
                )
            scores, ok = correlate(canvas[b], covered[b], templates, masks, shifts)
            logits.append(torch.where(ok, scores * self.log_temperature.exp(), INVALID_LOGIT))
            valid.append(masks.flatten(2).sum(-1).amin(-1) >= MIN_TEMPLATE_CELLS)
        return LocationOutput(torch.stack(logits), torch.stack(valid), cell_m)


class Descriptor(nn.Module):
    """Unit-length per-pixel descriptors from DPT features and a stride-2 pixel stem."""

    def __init__(self, in_channels: int, dim: int, stem: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(stem, stem, 3, padding=1),
        )
        self.fuse = nn.Sequential(
            nn.Conv2d(in_channels + stem, 2 * dim, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(2 * dim, dim, 1),
        )

    def forward(self, features: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """[N, C, h, w] and [N, 3, H, W] in [0, 1] -> [N, dim, h, w]."""
        stem = self.stem(images * 2.0 - 1.0)
        stem = F.interpolate(stem, size=features.shape[-2:], mode="bilinear", align_corners=True)
        return F.normalize(self.fuse(torch.cat([features, stem], dim=1)), dim=1)


def canvas_cells(grid: int, step_px: int, size_px: int, stride: int) -> int:
    """Canvas side in cells for a crop plan (its side in pixels must be a stride multiple)."""
    side = size_px + (grid - 1) * step_px
    if side % stride:
        raise ValueError(f"canvas side {side} px is not a multiple of the stride {stride}")
    return side // stride


def assemble_canvas(
    crops: torch.Tensor, imagery: torch.Tensor, grid: int, step_px: int, size_px: int, stride: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop descriptors [B, K, D, h, w] -> canvas [B, D, C, C] (overlaps averaged) and validity.

    ``imagery`` [B, K, H, W] marks crop pixels some raster covered (black pixels are none); a
    cell counts when most of it is imagery. A crop's map spans its pixel centres 0 .. size-1
    (align_corners, like the DPT upsampling).
    """
    batch, count, dim = crops.shape[:3]
    cells = canvas_cells(grid, step_px, size_px, stride)
    centres = (torch.arange(cells, device=crops.device, dtype=crops.dtype) + 0.5) * stride - 0.5
    total = crops.new_zeros(batch, dim, cells, cells)
    covered = crops.new_zeros(batch, 1, cells, cells)
    weight = crops.new_zeros(1, 1, cells, cells)
    for k in range(count):
        row0, col0 = (k // grid) * step_px, (k % grid) * step_px
        ys, xs = centres - row0, centres - col0
        inside = ((ys >= 0) & (ys <= size_px - 1))[:, None] & ((xs >= 0) & (xs <= size_px - 1))
        gy, gx = torch.meshgrid(
            ys / (size_px - 1) * 2 - 1, xs / (size_px - 1) * 2 - 1, indexing="ij"
        )
        sample_grid = torch.stack([gx, gy], dim=-1)[None].expand(batch, -1, -1, -1)
        total = total + F.grid_sample(crops[:, k], sample_grid, align_corners=True) * inside
        seen = F.grid_sample(imagery[:, k, None], sample_grid, align_corners=True)
        covered = covered + seen * inside
        weight = weight + inside
    valid = (covered / weight.clamp(min=1.0))[:, 0] > 0.5
    return F.normalize(total, dim=1) * valid[:, None], valid.to(crops.dtype)


def bev_templates(
    descriptors: torch.Tensor,
    intrinsics: torch.Tensor,
    level_from_camera: torch.Tensor,
    height_m: torch.Tensor,
    image_hw: tuple[int, int],
    cell_m: float,
    headings: int,
    cells: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bird's-eye templates of N cameras for every heading.

    Returns templates [N, T, D, G, G] (north-up boxes around each footprint, descriptors
    sampled through the ground plane), masks [N, T, G, G] and the box centre's offset from
    the nadir in canvas cells [N, T, 2] (rows south, columns east).
    """
    device, dtype = descriptors.device, descriptors.dtype
    height, width = image_hw
    reach = cells * cell_m
    centre = footprint_centre(intrinsics, level_from_camera, height_m, image_hw, reach)
    cos, sin, shift = heading_boxes(centre, headings, cell_m)
    half = (cells - 1) / 2
    offsets = (torch.arange(cells, device=device, dtype=dtype) - half) * cell_m
    cell_east = shift[..., 1, None, None] * cell_m + offsets[None, None, None, :]
    cell_north = -shift[..., 0, None, None] * cell_m - offsets[None, None, :, None]
    cell_east, cell_north = torch.broadcast_tensors(cell_east, cell_north)  # [N, T, G, G]
    # into each camera's level frame (rotate by -theta), onto the ground, into the camera
    c, s = cos[None, :, None, None], sin[None, :, None, None]
    forward = c * cell_east + s * cell_north
    left = -s * cell_east + c * cell_north
    down = -height_m[:, None, None, None].expand_as(forward)
    level = torch.stack([forward, left, down], dim=-1)
    points = torch.einsum("nji,ntabj->ntabi", level_from_camera, level)  # R^T @ x
    z = points[..., 2]
    safe_z = z.clamp(min=MIN_DEPTH_M)
    u = intrinsics[:, 0, 0, None, None, None] * points[..., 0] / safe_z
    u = u + intrinsics[:, 0, 2, None, None, None]
    v = intrinsics[:, 1, 1, None, None, None] * points[..., 1] / safe_z
    v = v + intrinsics[:, 1, 2, None, None, None]
    ground_range = torch.hypot(cell_east, cell_north)
    mask = (z > MIN_DEPTH_M) & (u >= 0) & (u <= width - 1) & (v >= 0) & (v <= height - 1)
    mask = mask & (ground_range <= reach)
    grid = torch.stack([u / (width - 1) * 2 - 1, v / (height - 1) * 2 - 1], dim=-1)
    grid = torch.where(mask[..., None], grid, torch.full_like(grid, -2.0))
    sampled = F.grid_sample(
        descriptors, grid.flatten(1, 2), align_corners=True, padding_mode="zeros"
    )  # [N, D, T*G, G]
    templates = sampled.unflatten(2, (headings, cells)).permute(0, 2, 1, 3, 4)
    maskf = mask.to(dtype)
    templates = F.normalize(templates, dim=2) * maskf[:, :, None]
    return templates, maskf, shift


def lifted_templates(
    descriptors: torch.Tensor,
    depth: torch.Tensor,
    intrinsics: torch.Tensor,
    level_from_camera: torch.Tensor,
    height_m: torch.Tensor,
    image_hw: tuple[int, int],
    cell_m: float,
    headings: int,
    cells: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bird's-eye templates of N cameras from their depth: every pixel's descriptor splatted
    (bilinearly) at the horizontal position of its 3D point, for every heading.

    The depth is scene-normalised; its metric scale per camera is the median ratio of the
    ground-plane depth to it over the nearest ground pixels (`NEAR_GROUND`), and no ray runs
    below the plane. Facades then land on the building outlines the crops show from above,
    which a ground-plane homography smears out beyond them.
    Same outputs as `bev_templates`.
    """
    count, dim, h, w = descriptors.shape
    device, dtype = descriptors.device, descriptors.dtype
    height, width = image_hw
    reach = cells * cell_m
    vs = torch.arange(h, device=device, dtype=dtype) * (height - 1) / max(h - 1, 1)
    us = torch.arange(w, device=device, dtype=dtype) * (width - 1) / max(w - 1, 1)
    vv, uu = torch.meshgrid(vs, us, indexing="ij")
    pixels = torch.stack([uu, vv, torch.ones_like(uu)], dim=-1).reshape(-1, 3)
    rays = torch.einsum("nij,pj->npi", torch.linalg.inv(intrinsics), pixels)  # z = 1
    level = torch.einsum("nij,npj->npi", level_from_camera, rays)
    sampled = F.interpolate(depth[:, None], size=(h, w), mode="bilinear", align_corners=True)
    predicted = sampled.reshape(count, -1)
    down = -level[..., 2]
    plane = height_m[:, None] / down.clamp(min=1e-6)  # z-depth of the ground plane
    plane_range = plane * level[..., :2].norm(dim=-1)
    on_ground = (down > 1e-6) & (plane_range <= reach) & (predicted > 0)
    ranges = torch.where(on_ground, plane_range, torch.nan)
    nearest = torch.nanquantile(ranges, NEAR_GROUND, dim=1, keepdim=True).nan_to_num(-1.0)
    near = on_ground & (plane_range <= nearest)
    ratio = torch.where(near, plane / predicted.clamp(min=1e-9), torch.nan)
    scale = torch.nanmedian(ratio, dim=1).values.nan_to_num(0.0)
    metric = scale[:, None] * predicted
    # nothing lies below the ground: a ray ends at the plane at the latest (for a flight, and
    # for an untrained depth head, that is the homography)
    metric = torch.where(down > 1e-6, torch.minimum(metric, plane), metric)
    points = level * metric[..., None]
    ground = points[..., :2]
    keep = (ground.norm(dim=-1) <= reach) & (predicted > 0) & (scale[:, None] > 0)
    weight = keep.to(dtype)
    centre = (ground * weight[..., None]).sum(1) / weight.sum(1, keepdim=True).clamp(min=1.0)
    cos, sin, shift = heading_boxes(centre, headings, cell_m)
    cos, sin = cos[None, :, None], sin[None, :, None]
    east = cos * ground[:, None, :, 0] - sin * ground[:, None, :, 1]  # [N, T, P]
    north = sin * ground[:, None, :, 0] + cos * ground[:, None, :, 1]
    half = (cells - 1) / 2
    col = east / cell_m - shift[..., 1, None] + half
    row = -north / cell_m - shift[..., 0, None] + half
    c0, r0 = col.floor(), row.floor()
    values = descriptors.flatten(2).transpose(1, 2)  # [N, P, D]
    total = descriptors.new_zeros(count, headings * cells * cells, dim)
    mass = descriptors.new_zeros(count, headings * cells * cells)
    base = (torch.arange(headings, device=device) * cells * cells)[None, :, None]
    for dr in (0, 1):
        for dc in (0, 1):
            r, c = r0 + dr, c0 + dc
            share = (1 - (row - r).abs()) * (1 - (col - c).abs()) * weight[:, None]
            inside = (r >= 0) & (r <= cells - 1) & (c >= 0) & (c <= cells - 1) & (share > 0)
            share = torch.where(inside, share, 0.0)
            index = base + r.clamp(0, cells - 1).long() * cells + c.clamp(0, cells - 1).long()
            for n in range(count):
                flat = index[n].reshape(-1)
                total[n].index_add_(
                    0, flat, (share[n][..., None] * values[n][None]).reshape(-1, dim)
                )
                mass[n].index_add_(0, flat, share[n].reshape(-1))
    mask = (mass > SPLAT_MIN_WEIGHT).to(dtype).reshape(count, headings, cells, cells)
    templates = (total / mass.clamp(min=1e-6)[..., None]).reshape(
        count, headings, cells, cells, dim
    )
    templates = F.normalize(templates.permute(0, 1, 4, 2, 3), dim=2) * mask[:, :, None]
    return templates, mask, shift


def heading_boxes(
    centre: torch.Tensor, headings: int, cell_m: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """cos / sin [T] of every heading and each template box's centre offset from the nadir.

    The box centre (ENU, from the nadir) is R(theta) @ the footprint centre [N, 2], rounded
    to whole cells: [N, T, 2] as (rows south, columns east).
    """
    angles = torch.arange(headings, device=centre.device, dtype=centre.dtype)
    angles = angles * (2 * math.pi / headings)
    cos, sin = angles.cos(), angles.sin()
    east = cos[None] * centre[:, None, 0] - sin[None] * centre[:, None, 1]
    north = sin[None] * centre[:, None, 0] + cos[None] * centre[:, None, 1]
    shift = torch.stack([torch.round(-north / cell_m), torch.round(east / cell_m)], dim=-1)
    return cos, sin, shift


def footprint_centre(
    intrinsics: torch.Tensor,
    level_from_camera: torch.Tensor,
    height_m: torch.Tensor,
    image_hw: tuple[int, int],
    reach: float,
) -> torch.Tensor:
    """[N, 2] mean (forward, left) ground point of each camera's rays that land within reach."""
    height, width = image_hw
    device, dtype = intrinsics.device, intrinsics.dtype
    us = torch.linspace(0, width - 1, FOOTPRINT_RAYS, device=device, dtype=dtype)
    vs = torch.linspace(0, height - 1, FOOTPRINT_RAYS, device=device, dtype=dtype)
    vv, uu = torch.meshgrid(vs, us, indexing="ij")
    pixels = torch.stack([uu, vv, torch.ones_like(uu)], dim=-1).reshape(-1, 3)
    rays = torch.einsum("nij,pj->npi", torch.linalg.inv(intrinsics), pixels)
    rays = torch.einsum("nij,npj->npi", level_from_camera, rays)
    down = -rays[..., 2]
    t = height_m[:, None] / down.clamp(min=1e-6)
    ground = rays[..., :2] * t[..., None]
    hit = (down > 1e-6) & (ground.norm(dim=-1) <= reach)
    weight = hit.to(dtype)
    centre = (ground * weight[..., None]).sum(1) / weight.sum(1, keepdim=True).clamp(min=1.0)
    return centre.detach()


def correlate(
    canvas: torch.Tensor,
    covered: torch.Tensor,
    templates: torch.Tensor,
    masks: torch.Tensor,
    shifts: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cosine of each template with the canvas at every nadir cell.

    canvas [D, C, C] (zero where ``covered`` [C, C] is 0), templates [N, T, D, G, G], masks
    [N, T, G, G], shifts [N, T, 2] (box centre minus nadir, cells). Returns scores
    [N, T, C, C] and whether each counts (enough of its template on imagery).
    """
    cells = canvas.shape[-1]
    count, headings, _, size = templates.shape[:4]
    full = cells + size - 1
    n = _fft_size(full)
    spectrum = torch.fft.rfft2(canvas, s=(n, n))
    kernel = torch.fft.rfft2(templates, s=(n, n))
    product = torch.fft.irfft2(torch.einsum("ntdij,dij->ntij", kernel.conj(), spectrum), s=(n, n))
    coverage = torch.fft.rfft2(covered, s=(n, n))
    overlap = torch.fft.irfft2(torch.fft.rfft2(masks, s=(n, n)).conj() * coverage, s=(n, n))
    # circular lag k sits at index k mod n; full-correlation index j = k + (G - 1)
    product = torch.roll(product, shifts=(size - 1, size - 1), dims=(-2, -1))[..., :full, :full]
    overlap = torch.roll(overlap, shifts=(size - 1, size - 1), dims=(-2, -1))[..., :full, :full]
    # box centre q = j - (G-1)/2 = nadir p + shift  ->  j = p + shift + (G-1)/2
    pad = int(shifts.abs().max().item()) + 1
    product = F.pad(product, (pad, pad, pad, pad))
    overlap = F.pad(overlap, (pad, pad, pad, pad))
    base = torch.arange(cells, device=canvas.device) + (size - 1) // 2 + pad
    rows = base[None, None, :] + shifts[..., 0, None].long()  # [N, T, C]
    cols = base[None, None, :] + shifts[..., 1, None].long()
    n_idx = torch.arange(count, device=canvas.device)[:, None, None, None]
    t_idx = torch.arange(headings, device=canvas.device)[None, :, None, None]
    scores = product[n_idx, t_idx, rows[..., :, None], cols[..., None, :]]
    overlap = overlap[n_idx, t_idx, rows[..., :, None], cols[..., None, :]]
    total = masks.flatten(2).sum(-1)[..., None, None]
    ok = (overlap >= MIN_OVERLAP * total) & (total >= MIN_TEMPLATE_CELLS)
    return scores / overlap.clamp(min=1.0), ok


def _fft_size(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (fast FFT lengths)."""
    size = n
    while True:
        m = size
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return size
        size += 1


PEAK_RADIUS = 2
"""Cells either side of the map's peak used for its sub-cell position and heading."""
SPREAD_RADIUS = 8
"""Cells either side of the peak over which the position covariance is measured."""


@dataclass(frozen=True)
class LocationReading:
    """One camera's position and heading read off its map, with the map's spread."""

    east_m: float
    south_m: float
    """Nadir position in metres east / south of the canvas's north-west corner."""
    heading: float
    """Radians, ENU, of the camera's level frame x axis."""
    heading_sigma: float
    """Spread (radians) of the heading distribution at the peak, at least a bin's quantisation."""
    covariance: np.ndarray
    """2x2 (east, north) covariance in m^2: the distribution's second moment near its peak
    (plus a cell's quantisation)."""
    peak_mass: float
    """Probability within `PEAK_RADIUS` cells of the peak."""


def heading_offsets(headings: int, heading: float) -> torch.Tensor:
    """[headings] float64: each heading bin's signed angle from ``heading``, in [-pi, pi)."""
    angles = torch.arange(headings, dtype=torch.float64) * (2 * math.pi / headings)
    return torch.remainder(angles - heading + math.pi, 2 * math.pi) - math.pi


@dataclass(frozen=True)
class LocationPrior:
    """What the window knows before its map: where the prior puts the camera and its heading.

    The crops are centred on the prior, so its nadir is the canvas centre; a heading prior
    (a compass, or the last localized heading carried by odometry) is optional.
    """

    sigma_m: float
    """Per-axis standard deviation of the prior position (GNSS, or drift since the last fix)."""
    heading: float | None = None
    """Radians, ENU, of the camera's level frame x axis."""
    heading_sigma: float | None = None
    offset_m: tuple[float, float] = (0.0, 0.0)
    """Where the prior puts the nadir, in metres east and north of the canvas centre (zero
    for the crops' own prior; moved to measure how much a read-out follows its prior)."""

    def __post_init__(self) -> None:
        if not self.sigma_m > 0:
            raise ValueError(f"prior sigma must be positive, got {self.sigma_m}")
        if (self.heading is None) != (self.heading_sigma is None):
            raise ValueError("a heading prior needs both its heading and its sigma")
        if self.heading_sigma is not None and not self.heading_sigma > 0:
            raise ValueError(f"heading sigma must be positive, got {self.heading_sigma}")

    def heading_log_density(self, headings: int) -> torch.Tensor:
        """[headings] wrapped-normal log density (up to a constant); zeros without a heading."""
        if self.heading is None or self.heading_sigma is None:
            return torch.zeros(headings, dtype=torch.float64)
        return -0.5 * (heading_offsets(headings, self.heading) / self.heading_sigma) ** 2

    def position_log_density(self, cells: int, cell_m: float) -> torch.Tensor:
        """[cells, cells] (rows south, columns east) Gaussian log density, up to a constant,
        around the canvas centre moved by `offset_m`."""
        centred = ((torch.arange(cells, dtype=torch.float64) + 0.5) - cells / 2.0) * cell_m
        east, north = self.offset_m
        rows = -0.5 * ((centred + north) / self.sigma_m) ** 2
        cols = -0.5 * ((centred - east) / self.sigma_m) ** 2
        return rows[:, None] + cols[None, :]


def read_location(
    logits: torch.Tensor,
    cell_m: float,
    prior: LocationPrior | None = None,
    temperature: float = 1.0,
) -> LocationReading:
    """Peak of a [headings, C, C] map, refined to sub-cell by its local mean, and its heading.

    The map (logits over ``temperature``, the model's calibration) is a likelihood; with a
    ``prior`` everything is read off the posterior, map times prior: the prior picks among
    look-alike places (a street along its length, an untracked heading) and its weight
    against the map's shows in the covariance.
    """
    headings, cols = logits.shape[0], logits.shape[2]
    logits = logits.double() / temperature
    if prior is not None:
        logits = (
            logits
            + prior.heading_log_density(headings)[:, None, None]
            + prior.position_log_density(cols, cell_m)
        )
    p = torch.softmax(logits.flatten(), 0).reshape(logits.shape)
    position = p.sum(0)
    r0, c0 = divmod(int(position.argmax()), cols)
    window = _window(position, r0, c0, PEAK_RADIUS)
    mass = window.weights.sum()
    row = float((window.weights * window.rows).sum() / mass)
    col = float((window.weights * window.cols).sum() / mass)
    spread = _window(position, r0, c0, SPREAD_RADIUS)
    w = spread.weights / spread.weights.sum()
    dr, dc = spread.rows - row, spread.cols - col
    var_r, var_c = float((w * dr * dr).sum()), float((w * dc * dc).sum())
    cov_rc = float((w * dr * dc).sum())
    quantum = 1.0 / 12.0
    covariance = cell_m**2 * np.array([[var_c + quantum, -cov_rc], [-cov_rc, var_r + quantum]])
    rs = slice(max(r0 - PEAK_RADIUS, 0), r0 + PEAK_RADIUS + 1)
    cs = slice(max(c0 - PEAK_RADIUS, 0), c0 + PEAK_RADIUS + 1)
    per_heading = p[:, rs, cs].sum((1, 2))
    k0 = int(per_heading.argmax())
    ks = [(k0 + d) % headings for d in (-1, 0, 1)]
    step = 2 * math.pi / headings
    weights = per_heading[ks]
    offset = float(
        (weights * torch.tensor([-1.0, 0.0, 1.0], dtype=weights.dtype)).sum() / weights.sum()
    )
    heading = math.remainder((k0 + offset) * step, 2 * math.pi)
    wrapped = heading_offsets(headings, heading)
    share = per_heading / per_heading.sum()
    heading_sigma = math.sqrt(float((share * wrapped**2).sum()) + step**2 / 12.0)
    return LocationReading(
        (col + 0.5) * cell_m,
        (row + 0.5) * cell_m,
        heading,
        heading_sigma,
        covariance,
        float(mass),
    )


@dataclass(frozen=True)
class _Window:
    weights: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor


def _window(position: torch.Tensor, r0: int, c0: int, radius: int) -> _Window:
    """The map's probabilities and cell indices within ``radius`` cells of (r0, c0)."""
    rows, cols = position.shape
    r_lo, r_hi = max(r0 - radius, 0), min(r0 + radius + 1, rows)
    c_lo, c_hi = max(c0 - radius, 0), min(c0 + radius + 1, cols)
    weights = position[r_lo:r_hi, c_lo:c_hi]
    rr, cc = torch.meshgrid(
        torch.arange(r_lo, r_hi, dtype=weights.dtype),
        torch.arange(c_lo, c_hi, dtype=weights.dtype),
        indexing="ij",
    )
    return _Window(weights, rr, cc)
