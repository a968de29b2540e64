"""Contact sheet of a scene: a few images of each view group with their depth maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sky2ground_ros.data.scene_format import GROUPS, Frame, Scene


def _spread(frames: list[Frame], count: int) -> list[Frame]:
    """``count`` frames evenly spread over a group (e.g. over the whole helical descent)."""
    if len(frames) <= count:
        return frames
    return [frames[int(i)] for i in np.linspace(0, len(frames) - 1, count).round()]


def write_contact_sheet(scene: Scene, path: str | Path, per_group: int = 4) -> Path:
    """PNG with, per group present, a row of RGB images and a row of their depth maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(g, _spread(scene.select(groups=(g,)), per_group)) for g in GROUPS]
    groups = [(g, frames) for g, frames in groups if frames]
    if not groups:
        raise ValueError(f"scene {scene.name} has no frames")
    rows = 2 * len(groups)
    fig, axes = plt.subplots(rows, per_group, figsize=(2.6 * per_group, 2.7 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for r, (group, frames) in enumerate(groups):
        for c, frame in enumerate(frames):
            ax_img, ax_depth = axes[2 * r, c], axes[2 * r + 1, c]
            ax_img.imshow(Scene.load_image(frame))
            ax_img.set_title(f"{group}: {frame.name}", fontsize=7)
            depth = Scene.load_depth(frame)
            if depth is None:
                ax_depth.text(0.5, 0.5, "no depth", ha="center", va="center", fontsize=8)
                continue
            valid = depth > 0
            shown = np.where(valid, depth, np.nan)
            lo, hi = np.percentile(depth[valid], [1, 99]) if valid.any() else (0.0, 1.0)
            ax_depth.imshow(shown, cmap="turbo", vmin=lo, vmax=hi)
            ax_depth.set_title(f"depth {lo:.0f}-{hi:.0f} m", fontsize=7)
    lat, lon = scene.georef.latitude, scene.georef.longitude
    fig.suptitle(f"{scene.name} ({lat:.4f}, {lon:.4f})", fontsize=9)
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.985))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
