"""Ray caster: culled tracing equals brute force, hits lie on surfaces, shadows, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sky2ground_ros.data.cameras import PinholeCamera, intrinsics_from_hfov, look_at
from sky2ground_ros.data.procedural_scene import ProceduralScene, generate_scene
from sky2ground_ros.data.raycast_renderer import (
    SKY_ID,
    TERRAIN_ID,
    Renderer,
    _ellipsoid_span,
    _polyhedron_span,
    intersect_terrain,
)
from sky2ground_ros.data.synthetic import SyntheticConfig, plan_views


@pytest.fixture(scope="module")
def scene() -> ProceduralScene:
    return generate_scene(1234, "test")


@pytest.fixture(scope="module")
def renderer(scene: ProceduralScene) -> Renderer:
    return Renderer(scene)


def _views(scene: ProceduralScene) -> list[PinholeCamera]:
    config = SyntheticConfig(size=40, satellite=1, ground=2)
    views = plan_views(scene, config)
    return [v.camera for v in views if v.name in ("sat_000", "aer_000_0", "aer_011_0")] + [
        v.camera for v in views if v.group == "ground"
    ]


def _brute_force(renderer: Renderer, o: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Closest hit parameter against every primitive (no culling) and the terrain."""
    rays = o.shape[0]
    best = intersect_terrain(renderer.scene.terrain, o, d)
    n_poly, n_ell = renderer.num_poly, renderer.ell_center.shape[0]
    ray, prim = torch.meshgrid(torch.arange(rays), torch.arange(n_poly), indexing="ij")
    enter, leave, _ = _polyhedron_span(
        renderer.planes, prim.ravel(), o[ray.ravel()], d[ray.ravel()]
    )
    enter = torch.where((enter <= leave) & (enter > 0), enter, torch.inf).reshape(rays, n_poly)
    ray, ell = torch.meshgrid(torch.arange(rays), torch.arange(n_ell), indexing="ij")
    e_enter, e_leave = _ellipsoid_span(
        renderer.ell_center, renderer.ell_inv_radii, ell.ravel(), o[ray.ravel()], d[ray.ravel()]
    )
    e_enter = torch.where((e_enter <= e_leave) & (e_enter > 0), e_enter, torch.inf)
    e_enter = e_enter.reshape(rays, n_ell)
    return torch.minimum(best, torch.minimum(enter.amin(dim=1), e_enter.amin(dim=1)))


def test_culled_tracing_matches_brute_force(scene: ProceduralScene, renderer: Renderer) -> None:
    rng = np.random.default_rng(0)
    for cam in _views(scene):
        o_np, d_np = cam.pixel_rays()
        o = torch.as_tensor(o_np.copy(), dtype=torch.float32)
        d = torch.as_tensor(d_np.copy(), dtype=torch.float32)
        hits = renderer.trace(o, d, cam.box_pixel_bounds(renderer.corners), cam.width)
        sample = torch.as_tensor(rng.choice(o.shape[0], 150, replace=False))
        expected = _brute_force(renderer, o[sample], d[sample])
        torch.testing.assert_close(hits.t[sample], expected, rtol=1e-6, atol=1e-4)
        assert (hits.prim >= 0).any(), "every test view should see some primitive"


def test_hits_lie_on_the_surface_they_report(scene: ProceduralScene, renderer: Renderer) -> None:
    for cam in _views(scene):
        o_np, d_np = cam.pixel_rays()
        o = torch.as_tensor(o_np.copy(), dtype=torch.float32)
        d = torch.as_tensor(d_np.copy(), dtype=torch.float32)
        hits = renderer.trace(o, d, cam.box_pixel_bounds(renderer.corners), cam.width)
        p = (o + hits.t.clamp(max=1e5)[:, None] * d).double().numpy()
        prim = hits.prim.numpy()
        ter = prim == TERRAIN_ID
        gap = p[ter, 2] - scene.terrain.height(p[ter, 0], p[ter, 1])
        assert np.abs(gap).max() < 5e-3
        poly = (prim >= 0) & (prim < renderer.num_poly)
        planes = scene.poly_planes[prim[poly]]
        signed = np.einsum("nkj,nj->nk", planes[..., :3], p[poly]) - planes[..., 3]
        assert np.abs(signed.max(axis=1)).max() < 5e-3
        ell = prim >= renderer.num_poly
        idx = prim[ell] - renderer.num_poly
        rel = (p[ell] - scene.ell_center[idx]) / scene.ell_radii[idx]
        assert np.abs(np.linalg.norm(rel, axis=1) - 1).max() < 1e-3
        assert torch.isinf(hits.t[hits.prim == SKY_ID]).all()
        normals = hits.normal[hits.prim != SKY_ID]
        torch.testing.assert_close(normals.norm(dim=1), torch.ones(normals.shape[0]))


def test_depth_is_z_depth(scene: ProceduralScene, renderer: Renderer) -> None:
    cam = _views(scene)[-1]
    out = renderer.render(cam)
    o, d = cam.pixel_rays()
    valid = out.depth.ravel() > 0
    points = o[valid] + out.depth.ravel()[valid, None] * d[valid]
    z = cam.to_camera(points)[:, 2]
    np.testing.assert_allclose(z, out.depth.ravel()[valid], rtol=1e-5)
    assert 0.1 < valid.mean() < 1.0  # a street view sees sky and ground


def test_cast_shadows(scene: ProceduralScene, renderer: Renderer) -> None:
    sun = scene.lighting.sun_direction
    tallest = int(np.argmax(scene.poly_bounds[:, 1, 2] - scene.poly_bounds[:, 0, 2]))
    lo, hi = scene.poly_bounds[tallest]
    middle = (lo + hi) / 2
    # the terrain point whose ray to the sun passes through the building's middle
    foot = middle - sun * (middle[2] / sun[2])
    for _ in range(5):
        h = scene.terrain.height(foot[0], foot[1])
        foot = middle - sun * ((middle[2] - h) / sun[2])
    up = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    points = torch.tensor(
        np.stack([foot, [middle[0], middle[1], hi[2] + 300.0], [0.0, 0.0, 500.0]]),
        dtype=torch.float32,
    )
    vis = renderer.sun_visibility(points, up)
    assert vis.tolist() == [0.0, 1.0, 0.0]  # shadowed, lit from above, facing away


def test_rendering_is_deterministic(scene: ProceduralScene) -> None:
    cam = _views(scene)[1]
    a = Renderer(generate_scene(1234, "test")).render(cam)
    b = Renderer(scene).render(cam)
    c = Renderer(generate_scene(99, "other")).render(cam)
    np.testing.assert_array_equal(a.rgb, b.rgb)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert np.abs(a.rgb - c.rgb).mean() > 0.02


def test_terrain_grazing_rays_converge(scene: ProceduralScene) -> None:
    eye = np.array([0.0, 0.0, scene.terrain.height(0.0, 0.0) + 1.7])
    cam = PinholeCamera(
        intrinsics_from_hfov(64, 64, 90.0),
        look_at(eye, eye + np.array([1.0, 0.3, -0.02])),
        64,
        64,
    )
    o, d = (torch.as_tensor(x.copy(), dtype=torch.float32) for x in cam.pixel_rays())
    t = intersect_terrain(scene.terrain, o, d)
    below = d[:, 2] < -0.05 * d[:, :2].norm(dim=1)  # rays clearly below the horizon hit
    assert torch.isfinite(t[below]).all()
    p = (o + t.clamp(max=1e5)[:, None] * d).double().numpy()
    hit = np.isfinite(t.numpy())
    gap = p[hit, 2] - scene.terrain.height(p[hit, 0], p[hit, 1])
    assert np.abs(gap).max() < 5e-3
    assert hit.sum() > below.sum()  # grazing rays past the steep ones hit too
